// Search over the messages of my chats in the chosen school (the server stems Russian words: «уроки» finds «урок»):
// the search box in the sidebar and the list of hits that replaces the chat list while it is open.

import { hubError } from './hub.js';
import { h, fill, shortTime, localTimes } from './dom.js';

/**
 * ctx: { invoke(method, ...args) over the hub, school, list (the chat list element, hidden while hits are shown),
 * titleOf(chatId), preview(message), openChat(chatId, seq) }. Returns the form and the results element to place.
 */
export function messageSearch(ctx) {
  const { list } = ctx;
  const query = h('input', { type: 'search', id: 'message-search', placeholder: 'Поиск по сообщениям', 'aria-label': 'Поиск по сообщениям', maxlength: 200,
    oninput: () => { if (!query.value.trim()) close(); } });
  const results = h('div', { class: 'search-results', role: 'list', 'aria-label': 'Найденные сообщения', hidden: true });
  const form = h('form', { class: 'search row', role: 'search', onsubmit: ev => { ev.preventDefault(); search(); } },
    query, h('button', { class: 'btn small', type: 'submit' }, 'Найти'));

  async function search() {
    const q = query.value.trim();
    results.hidden = false; list.hidden = true;
    if (q.length < 2) { fill(results, h('p', { class: 'center muted' }, 'Введите хотя бы две буквы.'), closeButton()); return; }
    fill(results, h('p', { class: 'center muted' }, 'Ищем…'));
    let found;
    try { found = await ctx.invoke('SearchMessages', q, ctx.school.schoolId); } catch (e) { fill(results, h('p', { class: 'error' }, hubError(e).message), closeButton()); return; }
    if (query.value.trim() !== q) return; // a newer search is on its way
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    fill(results,
      h('p', { class: 'muted search-count', 'aria-live': 'polite' }, found.length ? `Найдено: ${found.length}` : 'Ничего не найдено'),
      found.map(m => h('button', {
        class: 'chat-item search-hit', role: 'listitem', type: 'button', dataset: { chatId: m.chatId, seq: String(m.seq) },
        onclick: () => ctx.openChat(m.chatId, m.seq),
      },
      h('span', { class: 'main' },
        h('span', { class: 'name' }, ctx.titleOf(m.chatId) || 'Чат'),
        h('span', { class: 'last' }, m.senderName ? m.senderName + ': ' : '', snippet(m.kind === 'files' || m.kind === 'poll' ? ctx.preview(m) : localTimes(m.text || ''), words))),
      h('span', { class: 'side muted', style: 'font-size:.75rem' }, shortTime(m.createdAt)))),
      closeButton());
  }

  function closeButton() {
    return h('button', { class: 'btn small', type: 'button', style: 'margin:.5rem', onclick: () => { query.value = ''; close(); query.focus(); } }, 'Закрыть поиск');
  }

  function close() {
    results.hidden = true; list.hidden = false; results.replaceChildren();
  }

  return { form, results };
}

/** About 100 characters of the text around the first word that starts like one of the query's words (text only). */
function snippet(text, words) {
  const lower = text.toLowerCase();
  let at = -1;
  for (const w of words) {
    const stem = w.slice(0, Math.max(2, Math.min(w.length, w.length > 4 ? w.length - 2 : w.length)));
    const i = lower.indexOf(stem);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  if (text.length <= 100 || at < 40) return text.length <= 100 ? text : text.slice(0, 100) + '…';
  const start = at - 40;
  return '…' + text.slice(start, start + 100) + (start + 100 < text.length ? '…' : '');
}
