// The main screen: the chat list and one open chat, over the hub (hub.js keeps order and catch-up).

import { ChatClient, hubError } from './hub.js';
import { h, mount, shortTime, time, plural } from './dom.js';
import { showAdmin } from './admin.js';

const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮'];
const KIND_NAMES = { direct: 'Личный чат', class: 'Класс', parents: 'Родители', staff_room: 'Учительская', subject: 'Предмет', group: 'Группа', channel: 'Канал' };

let client = null;

/** Stops the live connection (the session ended). */
export function stopChat() {
  if (client) client.stop();
  client = null;
}

export function showMain(root, me, school, schools, nav) {
  if (client) client.stop();
  const statusEl = document.getElementById('status');
  let chats = [];
  let filter = '';
  let current = null; // { id, summary, rules, els: Map seq -> el, msgs: Map seq -> dto, pendingEls: Map clientId -> el, oldest, replyTo, editing }

  const list = h('div', { class: 'chats', role: 'list', 'aria-label': 'Чаты' });
  const search = h('input', { type: 'search', placeholder: 'Поиск чатов', 'aria-label': 'Поиск чатов', oninput: () => { filter = search.value.trim().toLowerCase(); renderList(); } });
  const pane = h('section', { class: 'pane', 'aria-label': 'Чат' }, h('div', { class: 'pane-empty' }, 'Выберите чат слева'));
  const layout = h('div', { class: 'layout' },
    h('nav', { class: 'sidebar', 'aria-label': 'Список чатов' }, h('div', { class: 'search' }, search), list), pane);
  const top = h('header', { class: 'topbar' },
    h('span', { class: 'title' }, school.name),
    schools.length > 1 && h('button', { class: 'btn small', onclick: nav.chooseSchool }, 'Сменить школу'),
    school.isAdmin && h('button', { class: 'btn small', onclick: () => { if (client) client.stop(); client = null; showAdmin(root, school, () => showMain(root, me, school, schools, nav)); } }, 'Управление школой'),
    h('button', { class: 'btn small', onclick: () => { if (client) client.stop(); client = null; nav.signOut(); } }, 'Выйти'));
  mount(root, top, layout);

  client = new ChatClient(me.id, {
    state: s => {
      statusEl.hidden = s === 'connected';
      statusEl.textContent = s === 'offline' ? 'Нет сети. Сообщения отправятся, когда связь вернётся.' : 'Соединение…';
      document.body.dataset.connection = s;
    },
    message: m => onMessage(m),
    change: e => onChange(e),
    pending: item => { if (current?.id === item.chatId) renderPending(item); },
    sendFailed: (item, err) => {
      const el = current?.pendingEls.get(item.clientId);
      if (el) { el.classList.add('failed'); el.querySelector('.meta').textContent = 'Не отправлено: ' + err.message; }
    },
    typing: t => showTyping(t),
    membership: () => loadChats(),
    resynced: () => loadChats(),
  });
  client.start();

  async function loadChats() {
    try {
      chats = await client.invoke('GetChats', school.schoolId);
    } catch {
      return;
    }
    renderList();
    const wanted = sessionStorage.getItem('chat.open');
    if (wanted && chats.some(c => c.id === wanted)) { sessionStorage.removeItem('chat.open'); openChat(wanted); }
    if (current) {
      const s = chats.find(c => c.id === current.id);
      if (s) { current.summary = s; renderHead(); }
    }
  }

  function renderList() {
    const shown = chats.filter(c => !filter || c.title.toLowerCase().includes(filter));
    list.replaceChildren(...shown.map(c => {
      const last = c.lastMessage;
      const lastText = last ? (last.deleted ? 'Сообщение удалено' : (last.senderName && c.kind !== 'direct' ? last.senderName + ': ' : '') + last.text) : 'Нет сообщений';
      return h('button', {
        class: 'chat-item', role: 'listitem', 'aria-current': current?.id === c.id ? 'true' : 'false', dataset: { chatId: c.id },
        onclick: () => openChat(c.id),
      },
      h('span', { class: 'main' },
        h('span', { class: 'name' }, c.title),
        h('span', { class: 'last' }, c.readOnly && h('span', { class: 'kind' }, 'Канал · '), lastText)),
      h('span', { class: 'side' },
        h('span', { class: 'muted', style: 'font-size:.75rem' }, shortTime(c.lastMessageAt)), h('br'),
        c.mentionCount > 0 && h('span', { class: 'badge mention', title: 'Упоминания' }, '@' + c.mentionCount),
        c.unreadCount > 0 && h('span', { class: 'badge', 'aria-label': `${c.unreadCount} ${plural(c.unreadCount, 'непрочитанное', 'непрочитанных', 'непрочитанных')}` }, String(c.unreadCount))));
    }));
    if (shown.length === 0) list.append(h('p', { class: 'center muted' }, chats.length ? 'Ничего не найдено' : 'Чатов пока нет'));
  }

  function summaryOf(chatId) {
    return chats.find(c => c.id === chatId);
  }

  function onMessage(m) {
    const s = summaryOf(m.chatId);
    if (s && m.seq > (s.lastMessage?.seq ?? 0)) {
      s.lastMessage = m; s.lastMessageAt = m.createdAt; s.lastSeq = Math.max(s.lastSeq, m.seq);
      const open = current?.id === m.chatId && !document.hidden;
      if (m.senderId !== me.id && !open) {
        s.unreadCount++;
        if (m.mentions?.includes(me.id)) s.mentionCount++;
      }
      chats = [s, ...chats.filter(c => c !== s)].sort((a, b) => (b.pinned - a.pinned));
      renderList();
    } else if (!s) {
      loadChats();
    }
    if (current?.id === m.chatId) { putMessage(m); scheduleRead(); }
  }

  function onChange(e) {
    const s = summaryOf(e.chatId);
    if (s && s.lastMessage?.seq === e.message.seq) { s.lastMessage = e.message; renderList(); }
    if (current?.id === e.chatId && current.msgs.has(e.message.seq)) putMessage(e.message);
  }

  // ---- the open chat ----

  async function openChat(chatId) {
    const summary = summaryOf(chatId);
    if (!summary) return;
    current = { id: chatId, summary, rules: '', els: new Map(), msgs: new Map(), pendingEls: new Map(), oldest: null, replyTo: null, editing: null };
    layout.classList.add('chat-open');
    renderList();
    buildPane();
    try {
      const details = await client.invoke('GetChat', chatId);
      if (current?.id !== chatId) return;
      current.summary = details.chat; current.rules = details.rules;
      renderHead();
      const history = await client.invoke('GetHistory', chatId, null, 50);
      if (current?.id !== chatId) return;
      client.follow(chatId, history.reduce((a, m) => Math.max(a, m.seq, m.version), 0));
      for (const m of history) putMessage(m);
      current.oldest = history.length ? history[0].seq : null;
      current.more.hidden = !(history.length === 50 && current.oldest > 1);
      for (const item of client.pendingFor(chatId)) renderPending(item);
      current.list.scrollTop = current.list.scrollHeight;
      await client.catchUp(chatId);
      summary.unreadCount = 0; summary.mentionCount = 0;
      renderList();
      scheduleRead();
    } catch (e) {
      current.list.append(h('p', { class: 'error' }, hubError(e).message));
    }
  }

  function buildPane() {
    const c = current;
    c.head = h('div', { class: 'chat-head' });
    c.banner = h('div');
    c.more = h('button', { class: 'btn small', hidden: true, onclick: loadEarlier, style: 'align-self:center' }, 'Загрузить более ранние');
    c.list = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Сообщения' }, c.more);
    c.typing = h('div', { class: 'typing', 'aria-live': 'polite' });
    c.bar = h('div', { class: 'composer-bar', hidden: true });
    c.input = h('textarea', { rows: 1, 'aria-label': 'Сообщение', placeholder: 'Сообщение', maxlength: 4000 });
    c.input.addEventListener('keydown', ev => { if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); submit(); } if (ev.key === 'Escape') clearBar(); });
    c.input.addEventListener('input', () => { const now = Date.now(); if (!c.typedAt || now - c.typedAt > 3000) { c.typedAt = now; client.invoke('Typing', c.id).catch(() => {}); } });
    c.composer = h('form', { class: 'composer', onsubmit: ev => { ev.preventDefault(); submit(); } },
      c.input, h('button', { class: 'btn primary', type: 'submit' }, 'Отправить'));
    c.readonly = h('div', { class: 'readonly-note' }, 'В этом канале пишут только администраторы.');
    c.side = h('aside', { class: 'side-panel', hidden: true, 'aria-label': 'О чате' });
    const body = h('div', { class: 'chat-body' }, c.head, c.banner, c.list, c.typing, c.bar, c.composer, c.readonly);
    pane.replaceChildren(h('div', { class: 'chat-wrap' }, body, c.side));
    renderHead();
  }

  function renderHead() {
    const c = current;
    const s = c.summary;
    c.head.replaceChildren(
      h('button', { class: 'btn small phone-only', onclick: closeChat, 'aria-label': 'К списку чатов' }, '←'),
      h('h2', {}, s.title),
      h('span', { class: 'muted', style: 'font-size:.85rem' }, `${KIND_NAMES[s.kind] || ''} · ${s.memberCount} ${plural(s.memberCount, 'участник', 'участника', 'участников')}`),
      h('button', { class: 'btn small', onclick: toggleInfo, 'aria-expanded': String(!c.side.hidden) }, 'О чате'));
    const canPost = s.canPost;
    c.composer.hidden = !canPost;
    c.readonly.hidden = canPost;
    c.banner.replaceChildren();
    if (c.rules && !s.rulesAccepted) {
      c.banner.append(h('div', { class: 'banner' }, h('strong', {}, 'Правила чата: '), h('span', { class: 'rules-inline' }, c.rules), ' ',
        h('button', { class: 'btn small', onclick: async () => { try { await client.invoke('AcceptChatRules', c.id, s.rulesVersion); s.rulesAccepted = true; renderHead(); } catch (e) { alert(hubError(e).message); } } }, 'Принимаю')));
    }
  }

  function closeChat() {
    current = null;
    layout.classList.remove('chat-open');
    pane.replaceChildren(h('div', { class: 'pane-empty' }, 'Выберите чат слева'));
    renderList();
    list.querySelector('.chat-item')?.focus();
  }

  async function toggleInfo() {
    const c = current;
    if (!c.side.hidden) { c.side.hidden = true; renderHead(); return; }
    c.side.hidden = false;
    c.side.replaceChildren(h('p', { class: 'muted' }, 'Загрузка…'));
    renderHead();
    try {
      const members = await client.invoke('GetChatMembers', c.id);
      const roleName = { owner: 'владелец', moderator: 'модератор', member: '' };
      c.side.replaceChildren(
        h('div', { class: 'row' }, h('h3', { style: 'flex:1' }, 'О чате'), h('button', { class: 'btn small', onclick: toggleInfo, 'aria-label': 'Закрыть' }, '✕')),
        h('h3', {}, 'Правила'),
        h('div', { class: 'rules' }, c.rules || 'Правила не заданы.'),
        h('h3', { style: 'margin-top:1rem' }, `Участники (${members.length})`),
        h('ul', { class: 'list-plain members' }, members.map(m => h('li', { style: 'padding:.25rem 0' },
          m.displayName,
          m.verifiedTeacher && h('span', { class: 'verified', title: 'Подтверждённый учитель' }, ' ✔ подтверждённый учитель'),
          roleName[m.role] && h('span', { class: 'muted', style: 'font-size:.8rem' }, ' · ' + roleName[m.role])))));
      c.side.querySelector('button')?.focus();
    } catch (e) {
      c.side.replaceChildren(h('p', { class: 'error' }, hubError(e).message));
    }
  }

  async function loadEarlier() {
    const c = current;
    if (!c?.oldest) return;
    const before = c.list.scrollHeight - c.list.scrollTop;
    const older = await client.invoke('GetHistory', c.id, c.oldest, 50);
    if (current !== c) return;
    for (const m of older) putMessage(m, true);
    if (older.length) c.oldest = older[0].seq;
    c.more.hidden = !(older.length === 50 && c.oldest > 1);
    c.list.scrollTop = c.list.scrollHeight - before;
  }

  function putMessage(m, older = false) {
    const c = current;
    const had = c.msgs.get(m.seq);
    if (had && had.version > m.version) return;
    c.msgs.set(m.seq, m);
    const pendingEl = m.senderId === me.id ? c.pendingEls.get(m.clientId) : null;
    if (pendingEl) { pendingEl.remove(); c.pendingEls.delete(m.clientId); }
    const el = renderMessage(m);
    const old = c.els.get(m.seq);
    if (old) { old.replaceWith(el); c.els.set(m.seq, el); return; }
    c.els.set(m.seq, el);
    const atBottom = c.list.scrollHeight - c.list.scrollTop - c.list.clientHeight < 80;
    // Keep the list in seq order; pending (unsent) messages stay last.
    const next = [...c.els.entries()].filter(([seq]) => seq > m.seq).sort((a, b) => a[0] - b[0])[0];
    const anchor = next ? next[1] : c.list.querySelector('.msg.pending');
    c.list.insertBefore(el, anchor && anchor.parentNode === c.list ? anchor : null);
    if (!older && (atBottom || m.senderId === me.id)) c.list.scrollTop = c.list.scrollHeight;
  }

  function renderPending(item) {
    const c = current;
    if (c.pendingEls.has(item.clientId)) return;
    const el = h('article', { class: 'msg mine pending', dataset: { clientId: item.clientId } },
      h('div', { class: 'text' }, item.text),
      h('div', { class: 'meta' }, 'Отправляется…'));
    c.pendingEls.set(item.clientId, el);
    c.list.append(el);
    c.list.scrollTop = c.list.scrollHeight;
  }

  function renderMessage(m) {
    const mine = m.senderId === me.id;
    if (m.kind === 'system') return h('article', { class: 'msg system', dataset: { seq: m.seq } }, m.text);
    const c = current;
    const replied = m.replyToSeq ? c.msgs.get(m.replyToSeq) : null;
    const reactions = h('div', { class: 'reactions' }, (m.reactions || []).map(r => h('button', {
      class: 'reaction', type: 'button', 'aria-pressed': String(r.by.includes(me.id)), 'aria-label': `${r.emoji} ${r.count}`,
      onclick: () => react(m, r.emoji, !r.by.includes(me.id)),
    }, `${r.emoji} ${r.count}`)));
    const actions = m.deleted ? null : h('div', { class: 'actions' },
      current.summary.canPost && h('button', { class: 'btn link small', type: 'button', onclick: () => startReply(m) }, 'Ответить'),
      h('button', { class: 'btn link small', type: 'button', 'aria-haspopup': 'true', onclick: ev => pickReaction(ev.currentTarget, m) }, 'Реакция'),
      mine && h('button', { class: 'btn link small', type: 'button', onclick: () => startEdit(m) }, 'Изменить'),
      (mine || current.summary.role !== 'member') && h('button', { class: 'btn link small', type: 'button', onclick: () => remove(m) }, 'Удалить'));
    return h('article', { class: 'msg' + (mine ? ' mine' : ''), dataset: { seq: m.seq }, 'aria-label': `${m.senderName || ''}, ${time(m.createdAt)}` },
      !mine && h('div', { class: 'who' }, m.senderName),
      replied && h('div', { class: 'quote' }, (replied.senderName || '') + ': ' + (replied.deleted ? 'сообщение удалено' : replied.text)),
      m.deleted ? h('div', { class: 'text deleted' }, 'Сообщение удалено') : h('div', { class: 'text' }, m.text),
      h('div', { class: 'meta' }, m.editedAt && !m.deleted ? 'изменено · ' : '', time(m.createdAt)),
      reactions, actions);
  }

  function pickReaction(button, m) {
    const existing = button.parentNode.querySelector('.picker');
    if (existing) { existing.remove(); return; }
    const picker = h('div', { class: 'picker row', role: 'group', 'aria-label': 'Выберите реакцию' }, REACTIONS.map(e => h('button', {
      class: 'reaction', type: 'button', onclick: () => { picker.remove(); react(m, e, true); },
    }, e)));
    button.parentNode.append(picker);
    picker.querySelector('button').focus();
  }

  async function react(m, emoji, add) {
    try { putMessage(await client.invoke('React', m.chatId, m.seq, emoji, add)); } catch (e) { alert(hubError(e).message); }
  }

  async function remove(m) {
    if (!confirm('Удалить сообщение?')) return;
    try { putMessage(await client.invoke('DeleteMessage', m.chatId, m.seq)); } catch (e) { alert(hubError(e).message); }
  }

  function startReply(m) {
    current.replyTo = m; current.editing = null;
    showBar('Ответ: ' + (m.senderName || '') + ': ' + m.text);
  }

  function startEdit(m) {
    current.editing = m; current.replyTo = null;
    current.input.value = m.text;
    showBar('Изменение сообщения');
  }

  function showBar(text) {
    const c = current;
    c.bar.hidden = false;
    c.bar.replaceChildren(h('span', {}, text), h('button', { class: 'btn link small', type: 'button', onclick: clearBar, 'aria-label': 'Отменить' }, 'Отмена'));
    c.input.focus();
  }

  function clearBar() {
    const c = current;
    if (!c) return;
    if (c.editing) c.input.value = '';
    c.replyTo = null; c.editing = null;
    c.bar.hidden = true;
  }

  async function submit() {
    const c = current;
    const text = c.input.value.trim();
    if (!text) return;
    if (c.editing) {
      try {
        putMessage(await client.invoke('EditMessage', c.id, c.editing.seq, text));
        c.input.value = '';
        clearBar();
      } catch (e) { alert(hubError(e).message); }
      return;
    }
    client.send(c.id, text, c.replyTo?.seq);
    c.input.value = '';
    clearBar();
    c.input.focus();
  }

  let readTimer = null;
  function scheduleRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(async () => {
      const c = current;
      if (!c || document.hidden || c.msgs.size === 0) return;
      const max = Math.max(...c.msgs.keys());
      if (max <= (c.readSent || c.summary.readSeq || 0)) return;
      c.readSent = max;
      try { await client.invoke('MarkRead', c.id, max); } catch { c.readSent = 0; }
    }, 300);
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) scheduleRead(); });

  const typers = new Map();
  function showTyping(t) {
    if (current?.id !== t.chatId) return;
    typers.set(t.accountId, { name: t.name, until: Date.now() + 4000 });
    renderTyping();
    setTimeout(renderTyping, 4100);
  }
  function renderTyping() {
    if (!current) return;
    const now = Date.now();
    const names = [...typers.values()].filter(t => t.until > now).map(t => t.name);
    current.typing.textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} печатает…` : `${names.join(', ')} печатают…`;
  }
}
