// «Материалы»: a chat's files in a dialog, newest first (hub GetChatFiles), filtered by kind, paged by message seq.
// Photos are a grid of previews, other files a list with name, size, sender and time; each opens as in the chat
// (files.js) and «Перейти к сообщению» opens the chat at its message (as a search hit does). Read when opened, not live.

import { hubError } from './hub.js';
import { h, fill, dateTime } from './dom.js';
import { viewDialog } from './dialog.js';
import { renderFiles, size } from './files.js';

const PAGE = 30; // messages per page (the server's limit counts messages, not files)
const KINDS = [['', 'Все'], ['image', 'Фото'], ['video', 'Видео'], ['audio', 'Аудио'], ['document', 'Документы']];

/**
 * ctx: { invoke(method, ...args) over the hub, openChat(chatId, seq), returnFocus() (when the element that had the focus
 * is gone: the header was re-rendered meanwhile) }. Opens the materials of the chat chatId.
 */
export function showMaterials(ctx, chatId) {
  let kind = '';
  let before = null;
  let generation = 0;
  const grid = h('div', { class: 'materials-grid', role: 'list', 'aria-label': 'Фото' });
  const list = h('ul', { class: 'list-plain materials-list', 'aria-label': 'Файлы' });
  const state = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = h('button', { class: 'btn small', type: 'button', hidden: true, onclick: () => load() }, 'Показать ещё');
  const filters = KINDS.map(([value, label]) => h('button', {
    class: 'btn small', type: 'button', 'aria-pressed': String(value === kind), dataset: { kind: value },
    onclick: () => choose(value),
  }, label));
  const dialog = viewDialog('Материалы чата', h('div', { class: 'materials' },
    h('div', { class: 'row materials-filter', role: 'group', 'aria-label': 'Тип материалов' }, filters),
    state, grid, list, more));
  dialog.classList.add('materials-dialog');
  let jumped = false;
  dialog.addEventListener('close', () => {
    if (!jumped && (!document.activeElement || document.activeElement === document.body)) ctx.returnFocus();
  });
  filters[0].focus();
  load();

  function choose(value) {
    kind = value;
    for (const b of filters) b.setAttribute('aria-pressed', String(b.dataset.kind === value));
    before = null;
    grid.replaceChildren();
    list.replaceChildren();
    load();
  }

  async function load() {
    const mine = ++generation;
    const paging = document.activeElement === more; // «Показать ещё» from the keyboard: the focus goes to the first new file
    more.hidden = true;
    state.textContent = 'Загрузка…';
    let page;
    try {
      page = await ctx.invoke('GetChatFiles', chatId, kind || null, before, PAGE);
    } catch (e) {
      if (mine === generation) {
        state.textContent = '';
        fill(state, h('span', { class: 'error' }, hubError(e).message));
        more.hidden = !list.children.length && !grid.children.length; // a failed «Показать ещё» can be tried again
      }
      return;
    }
    if (mine !== generation) return; // another filter was chosen meanwhile
    const added = page.map(item => isPhoto(item.file) ? photo(item) : row(item));
    for (const el of added) (el.tagName === 'FIGURE' ? grid : list).append(el);
    const seqs = new Set(page.map(i => i.seq));
    if (seqs.size) before = Math.min(...seqs);
    more.hidden = seqs.size < PAGE;
    const empty = !grid.children.length && !list.children.length;
    state.textContent = empty ? (kind ? 'Таких материалов в этом чате пока нет.' : 'В этом чате пока нет материалов.') : '';
    grid.hidden = !grid.children.length;
    list.hidden = !list.children.length;
    if (paging) (added[0]?.querySelector('button') || filters[0]).focus();
  }

  function jump(item) {
    return h('button', { class: 'btn link small', type: 'button', onclick: () => { jumped = true; dialog.close(); ctx.openChat(chatId, item.seq); } }, 'Перейти к сообщению');
  }

  function who(item) {
    return [item.senderName, dateTime.format(new Date(item.postedAt))].filter(Boolean).join(' · ');
  }

  function photo(item) {
    return h('figure', { class: 'material-photo', role: 'listitem', dataset: { fileId: item.file.id, seq: String(item.seq) } },
      renderFiles([item.file]),
      h('figcaption', { class: 'muted' }, who(item)),
      jump(item));
  }

  function row(item) {
    const f = item.file;
    return h('li', { class: 'material-row', dataset: { fileId: f.id, seq: String(item.seq), kind: f.kind } },
      renderFiles([f]),
      // The document's button and the video's line name the file and its size already; the audio player does not.
      h('div', { class: 'muted material-meta' }, f.kind === 'audio' ? `${size(f.size)} · ${who(item)}` : who(item)),
      jump(item));
  }
}

function isPhoto(f) {
  return f.kind === 'image' && f.hasThumbnail;
}
