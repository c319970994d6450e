// Search over the messages of my chats in the chosen school, or of one chat (the server stems Russian words: «уроки»
// finds «урок»): the search box in the sidebar and the list of hits that replaces the chat list while it is open.
// Hub SearchMessagesPage: 50 hits a page, «Показать ещё» for the next; the words that matched come back as plain text
// and are marked with <mark> here (text nodes only, never the server's text as HTML).

import { hubError } from './hub.js';
import { h, fill, shortTime, localTimes } from './dom.js';
import { notice } from './dialog.js';

/**
 * ctx: { invoke(method, ...args) over the hub, school, list (the chat list element, hidden while hits are shown),
 * titleOf(chatId), preview(message), openChat(chatId, seq) }. Returns the form and the results element to place, and
 * searchIn(chatId, title): the search limited to that chat (until «Искать везде» or «Закрыть поиск»).
 */
export function messageSearch(ctx) {
  const { list } = ctx;
  let scope = null; // { chatId, title } while the search is limited to one chat
  let shown = null; // the search on screen: { q, next, count }
  const query = h('input', { type: 'search', id: 'message-search', placeholder: 'Поиск по сообщениям', 'aria-label': 'Поиск по сообщениям', maxlength: 200,
    oninput: () => { if (!query.value.trim() && !scope) close(); } });
  const scopeName = h('span', { class: 'scope-name' });
  const scopeBox = h('div', { class: 'search-scope row', hidden: true }, scopeName,
    h('button', { class: 'btn small', type: 'button', onclick: () => { setScope(null); query.value.trim() ? search() : close(); query.focus(); } }, 'Искать везде'));
  const results = h('div', { class: 'search-results', role: 'list', 'aria-label': 'Найденные сообщения', hidden: true });
  const more = h('button', { class: 'btn small', type: 'button', style: 'margin:.5rem', onclick: () => search(true) }, 'Показать ещё');
  const form = h('form', { class: 'search row', role: 'search', onsubmit: ev => { ev.preventDefault(); search(); } },
    query, h('button', { class: 'btn small', type: 'submit' }, 'Найти'));

  function setScope(s) {
    scope = s;
    scopeBox.hidden = !s;
    scopeName.textContent = s ? `В чате «${s.title}»` : '';
    query.placeholder = s ? 'Поиск в этом чате' : 'Поиск по сообщениям';
  }

  /** Where the hits are from, for the count line. */
  const where = () => scope ? ` в чате «${scope.title}»` : '';

  async function search(next = false) {
    const q = next ? shown.q : query.value.trim();
    results.hidden = false; list.hidden = true;
    if (q.length < 2) { fill(results, h('p', { class: 'center muted' }, 'Введите хотя бы две буквы.'), closeButton()); return; }
    const paging = next && document.activeElement === more; // from the keyboard: the focus goes to the first new hit
    if (next) { more.disabled = true; } else { shown = null; fill(results, h('p', { class: 'center muted' }, 'Ищем…')); }
    const request = { query: q, schoolId: ctx.school.schoolId, chatId: scope?.chatId ?? null, before: next ? shown.next : null };
    let page;
    try { page = await ctx.invoke('SearchMessagesPage', request); } catch (e) {
      more.disabled = false;
      if (next) { notice(hubError(e).message, { kind: 'error' }); return; }
      fill(results, h('p', { class: 'error' }, hubError(e).message), closeButton()); return;
    }
    more.disabled = false;
    if (next ? shown?.q !== q || shown.next !== request.before : query.value.trim() !== q) return; // a newer search is on its way
    const hits = page.hits.map(hit);
    if (!next) {
      shown = { q, count: 0 };
      fill(results, h('p', { class: 'muted search-count', 'aria-live': 'polite' }), more, closeButton());
    }
    shown.next = page.next;
    shown.count += hits.length;
    more.before(...hits);
    more.hidden = !page.next;
    results.querySelector('.search-count').textContent = shown.count
      ? `Найдено${where()}: ${shown.count}${page.next ? '+' : ''}`
      : `Ничего не найдено${where()}`;
    if (paging) (hits[0] ?? results.querySelector('.search-count')).focus?.();
  }

  function hit({ message: m, words }) {
    let text = m.kind === 'files' || m.kind === 'poll' ? ctx.preview(m) : localTimes(m.text || '');
    // A message of files may be found by a file's name: a caption's preview shows the names after it.
    const names = (m.files || []).map(f => f.name).join(', ');
    if (m.kind === 'files' && m.text && names && text.startsWith('📎')) text += ' · ' + names;
    const last = h('span', { class: 'last' }, m.senderName ? m.senderName + ': ' : '');
    appendMarked(last, snippet(text, words), words);
    return h('button', {
      class: 'chat-item search-hit', role: 'listitem', type: 'button', dataset: { chatId: m.chatId, seq: String(m.seq) },
      onclick: () => ctx.openChat(m.chatId, m.seq),
    },
    h('span', { class: 'main' }, h('span', { class: 'name' }, ctx.titleOf(m.chatId) || 'Чат'), last),
    h('span', { class: 'side muted', style: 'font-size:.75rem' }, shortTime(m.createdAt)));
  }

  function closeButton() {
    return h('button', { class: 'btn small', type: 'button', style: 'margin:.5rem', onclick: () => { query.value = ''; setScope(null); close(); query.focus(); } }, 'Закрыть поиск');
  }

  function close() {
    shown = null;
    results.hidden = true; list.hidden = false; results.replaceChildren();
  }

  /** «Искать в этом чате»: the box limited to the chat, focused; what is already typed is searched there at once. */
  function searchIn(chatId, title) {
    setScope({ chatId, title });
    if (query.value.trim()) search(); else close();
    query.focus();
  }

  return { form: h('div', {}, form, scopeBox), results, searchIn };
}

/** A pattern for the matched words as whole words (any case), or null when there are none. */
function wordPattern(words) {
  const alts = (words || []).filter(Boolean).map(w => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return alts.length ? new RegExp(`(?<![\\p{L}\\p{N}])(${alts.join('|')})(?![\\p{L}\\p{N}])`, 'giu') : null;
}

/** Appends the text to the element with every matched word in a <mark> (text nodes only). */
function appendMarked(el, text, words) {
  const pattern = wordPattern(words);
  if (!pattern) { el.append(text); return; }
  // split with one capturing group: the odd parts are the matches
  for (const [i, part] of text.split(pattern).entries()) {
    if (part) el.append(i % 2 ? h('mark', { class: 'found-word' }, part) : part);
  }
}

/** About 100 characters of the text around the first matched word (text only). */
function snippet(text, words) {
  const pattern = wordPattern(words);
  const at = pattern ? text.search(pattern) : -1;
  if (text.length <= 100) return text;
  if (at < 40) return text.slice(0, 100) + '…';
  const start = at - 40;
  return '…' + text.slice(start, start + 100) + (start + 100 < text.length ? '…' : '');
}
