// The main screen: the chat list and one open chat, over the hub (hub.js keeps order and catch-up). Attachments are in
// files.js, polls in polls.js, calls and planned lessons in chat-calls.js, message search in search.js, moderation in
// moderation.js, forwarding and «Кто прочитал» in message-actions.js, a chat's invite links in chat-invites.js,
// a chat's materials in materials.js, read ticks on my messages in read-ticks.js, modal forms in dialog.js, the unread
// count in the title and system notifications (and the one-line preview of a message they share with the list) in
// notify.js, presence («в сети») in presence.js. What the device keeps for reading offline (the chat lists and the
// opened chats' recent messages) is in offline.js.

import { ChatClient, hubError, hubFail, hubNotice, newId } from './hub.js';
import { api, ApiError, upload, uploadResumable, uploadChunkBytes, refreshTokens } from './api.js';
import { h, fill, mount, shortTime, time, plural, appendTimes } from './dom.js';
import { showAdmin } from './admin.js';
import { caseEnd, caseUntil } from './admin-cases.js';
import { formDialog, notice } from './dialog.js';
import { renderFiles, size } from './files.js';
import { renderPoll, pollDialog } from './polls.js';
import { chatCalls, LIVE_NAMES, liveMark } from './chat-calls.js';
import { messageSearch } from './search.js';
import { chatModeration } from './moderation.js';
import { chatInvitesBox, INVITE_KINDS } from './chat-invites.js';
import { menuButton } from './menu.js';
import { showProfile } from './profile.js';
import { messageActions } from './message-actions.js';
import { showMaterials } from './materials.js';
import { voiceButton } from './voice.js';
import { readTicks } from './read-ticks.js';
import { preview, showUnread, chatNotifier, mutedNow, mutedLabel, MUTE_CHOICES, unreadOf, unreadBadge } from './notify.js';
import { presenceWatch } from './presence.js';
import { keepUpload, dropUpload, keptUploads } from './kept-uploads.js';
import { offlineStore } from './offline.js';

const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮'];
/** A chat one joined by hand or by link, and may leave: a subject chat or a group the school's roster does not keep. */
const leavable = s => INVITE_KINDS.has(s.kind) && !s.rosterKept;
const RESUMABLE_FROM = 1024 * 1024; // a file over this uploads in resumable chunks
const CASE_KEY = 'chat.case'; // the chat of a moderation case to open, from «Управление школой»
const CASE_POLL_MS = 15000;
const OFFLINE_NOTE = 'Нет сети — показаны сохранённые сообщения. Новые придут, когда связь вернётся.';
// A kept chat further behind than this is read afresh (GetHistory) rather than caught up event by event.
const CATCH_UP_LIMIT = 1000;
const HISTORY_PAGE_MAX = 200; // the server's largest page of GetHistory (MessageService.MaxPage)
const FILES_PER_MESSAGE = 10; // the server's Files:MaxFilesPerMessage (its default)
const KIND_NAMES = { direct: 'Личный чат', class: 'Класс', parents: 'Родители', staff_room: 'Учительская', subject: 'Предмет', group: 'Группа', channel: 'Канал' };

let client = null;
let presence = null;
let notifications = null; // the screen's notifier: closed with the screen
// Resumable uploads this page is sending now (they go on when the chat or the screen is left): never offered to be
// continued, which would send and post the same file twice. Other tabs see them through a Web Lock per upload.
const uploading = new Set();
const uploadLock = id => 'chat-upload:' + id;

/** Marks an upload as being sent until `done` settles (in this page, and for other tabs where Web Locks exist). */
function holdUpload(id, done) {
  uploading.add(id);
  navigator.locks?.request(uploadLock(id), () => done).catch(() => {});
  done.finally(() => uploading.delete(id));
}

/** Whether an upload is being sent by this page or another tab of this browser. */
async function uploadInFlight(id) {
  if (uploading.has(id)) return true;
  try {
    const { held = [] } = (await navigator.locks?.query()) || {};
    return held.some(l => l.name === uploadLock(id));
  } catch {
    return false;
  }
}

/** Stops the live connection (the session ended). */
export function stopChat() {
  if (client) client.stop();
  client = null;
  presence?.stop();
  presence = null;
  notifications?.closeAll();
  notifications = null;
  showUnread(0);
}

export function showMain(root, me, school, schools, nav) {
  if (client) client.stop();
  presence?.stop();
  const statusEl = document.getElementById('status');
  const isStaff = school.isAdmin || school.isTeacher;
  let chats = [];
  let others = []; // my chats in my other schools (a parent with children in two schools): counted and notified, not listed
  let filter = '';
  let childClass = ''; // a parent's choice of child: only that child's class chats (and chats of no class)
  // That child's account id (kept when the child's class changes, and on this device for the school: the profile or
  // another school and back keep the choice).
  const CHILD_KEY = 'chat.child.' + school.schoolId;
  let chosenChild = localStorage.getItem(CHILD_KEY) || '';
  let childLabels = []; // [{ option, classId, name }]: each child's option, its unread count kept up to date by renderList
  let archiveOpen = false; // «Архив (N)» at the end of the list, collapsed until opened
  let staleReload = null; // a list reload asked by ChatAdvanced under way: { again } (one more after it)
  let current = null; // the open chat: { id, summary, rules, els, msgs, pendingEls, oldest, replyTo, editing, members, myVotes, restriction, othersRead, receipts, fromCache }
  const offline = offlineStore(me.id);
  // Drafts: what was typed into a chat and not sent stays there when another chat is opened, the page is reloaded or an
  // edit is started and ended (kept on the device with the offline data, so signing out forgets them).
  const drafts = new Map();
  const draftsLoaded = offline.drafts().then(d => { for (const [k, v] of Object.entries(d)) if (!drafts.has(k)) drafts.set(k, v); }).catch(() => {});
  const draftTimers = new Map();
  function noteDraft(c, text = c.input.value) {
    if (c.editing || c.caseUntil) return;
    const had = drafts.has(c.id);
    if (text.trim()) drafts.set(c.id, text); else drafts.delete(c.id);
    clearTimeout(draftTimers.get(c.id));
    const save = () => { draftTimers.delete(c.id); offline.saveDraft(c.id, drafts.get(c.id)); };
    // Typing is kept a moment later; a draft that goes (sent) goes at once, so a reload right after does not bring it back.
    if (had && !drafts.has(c.id)) save(); else draftTimers.set(c.id, setTimeout(save, 300));
  }
  let listLoaded = false; // the list came from the server on this page (else it is empty or read from the device)
  let listFromCache = false;
  let connection = 'connecting';
  const invoke = (method, ...args) => client.invoke(method, ...args);
  const calls = chatCalls({ invoke, me, school, current: () => current, renderHead: () => renderHead(), renderList: () => renderList(),
    // A reminder may be of a chat of another of my schools (a parent with children in two): named and opened as its
    // notifications are.
    openChat: id => openAnywhere(id), titleOf: id => notifiedAs(id)?.title,
    notify: r => notifier.reminder(r, notifiedAs(r.chatId), current?.id === r.chatId && !document.hidden),
    notifyGone: planId => notifier.reminderGone(planId) });
  const moderation = chatModeration({ invoke, me, school, current: () => current, putMessage: m => putMessage(m), renderHead: () => renderHead(), renderInfo: () => renderInfo() });
  const messageMore = messageActions({ invoke, me, current: () => current, chats: () => chats, kindName: kind => KIND_NAMES[kind] || '' });
  const ticks = readTicks({ invoke, me, current: () => current });
  // Whom the page shows: the peers of the direct chats in the list, and the members of «О чате» while it is open.
  const watch = presence = presenceWatch({ invoke, wanted: () => [
    ...chats.filter(c => c.kind === 'direct').map(c => c.peerId),
    ...(current && !current.side?.hidden ? current.members.map(m => m.accountId).filter(id => id !== me.id) : [])] });

  const list = h('div', { class: 'chats', role: 'list', 'aria-label': 'Чаты' });
  const titleFilter = h('input', { type: 'search', placeholder: 'Поиск чатов', 'aria-label': 'Поиск чатов', oninput: () => { filter = titleFilter.value.trim().toLowerCase(); renderList(); } });
  const childBox = h('div', { class: 'search', hidden: true });
  const search = messageSearch({ invoke, school, list, titleOf: id => summaryOf(id)?.title, preview, openChat: (id, seq) => openChat(id, seq) });
  const pane = h('section', { class: 'pane', 'aria-label': 'Чат' }, h('div', { class: 'pane-empty' }, 'Выберите чат слева'));
  const layout = h('div', { class: 'layout' },
    h('nav', { class: 'sidebar', 'aria-label': 'Список чатов' },
      childBox,
      h('div', { class: 'search' }, titleFilter),
      search.form,
      h('div', { class: 'row sidebar-actions' },
        h('button', { class: 'btn small', type: 'button', onclick: newDirectChat }, 'Написать лично'),
        isStaff && h('button', { class: 'btn small', type: 'button', onclick: newGroupChat }, 'Создать чат')),
      search.results,
      list),
    pane);
  const leave = fn => () => { stopChat(); fn(); };
  // A director who is not an admin reads the usage statistics (MySchoolDto has no director flag: ask the school).
  const statsButton = h('button', { class: 'btn small', hidden: true, onclick: leave(() => showAdmin(root, school, back, { statsOnly: true })) }, 'Статистика');
  if (!school.isAdmin && school.isTeacher) {
    api('GET', `/api/schools/${school.schoolId}`).then(s => { statsButton.hidden = !s.myRoles?.includes('director'); }, () => {});
  }
  // «Сменить школу · 3»: unread messages in my other schools' chats (not muted) show on the way there.
  const schoolButton = h('button', { class: 'btn small', hidden: schools.length < 2, onclick: leave(nav.chooseSchool) }, 'Сменить школу');
  // «Управление школой · 2» / «Приглашения · 2»: join requests waiting for me to decide (an admin: all of the school's;
  // a class teacher: her classes'), read on every connect (the first too) and whenever one comes or is decided.
  const requestsBadge = h('span', { class: 'requests-waiting' });
  let requestsAsked = 0;
  async function loadWaitingRequests() {
    if (!school.isAdmin && !school.isClassTeacher) return;
    const asked = ++requestsAsked; // two reads crossing (a connect and a push): the later one's count stands
    let n;
    try {
      n = (await api('GET', `/api/schools/${school.schoolId}/join-requests?status=pending`)).length;
    } catch (e) {
      if (e.status !== 403) return; // not read (offline): as it was; a class teacher no longer one decides nothing
      n = 0;
    }
    if (asked !== requestsAsked) return;
    fill(requestsBadge, n > 0 && h('span', { class: 'badge', 'aria-label': `${n} ${plural(n, 'заявка ждёт', 'заявки ждут', 'заявок ждут')} решения` }, String(n)));
  }
  const top = h('header', { class: 'topbar' },
    h('span', { class: 'title' }, school.name),
    schoolButton,
    school.isAdmin && h('button', { class: 'btn small', onclick: leave(() => showAdmin(root, school, back, { openChat: openCaseChat })) }, 'Управление школой', requestsBadge),
    // A teacher of no class has nothing to invite to or decide: no «Приглашения» (it opened onto «Недостаточно прав»).
    !school.isAdmin && school.isClassTeacher && h('button', { class: 'btn small', onclick: leave(() => showAdmin(root, school, back, { teacherOnly: true })) }, 'Приглашения', requestsBadge),
    statsButton,
    h('button', { class: 'btn small', onclick: leave(() => showProfile(root, me, back)) }, 'Профиль'),
    h('button', { class: 'btn small', onclick: leave(nav.signOut) }, 'Выйти'));
  const back = () => showMain(root, me, school, schools, nav);
  // «Открыть чат» of a moderation case in «Управление школой»: back here with that chat open (it is not in the list).
  const openCaseChat = chatId => { sessionStorage.setItem(CASE_KEY, chatId); back(); };
  mount(root, top, layout, calls.toasts);
  const notifier = chatNotifier(me, id => openAnywhere(id));
  /** Opens a chat of this school here, or of another of my schools by switching to it. */
  function openAnywhere(id) {
    const other = others.find(o => o.id === id);
    if (other) { stopChat(); nav.openSchool(other.schoolId, id); } else openChat(id);
  }
  notifications = notifier;

  client = new ChatClient(me.id, {
    state: s => {
      connection = s;
      renderStatus();
      document.body.dataset.connection = s;
      if (s === 'offline') showCachedList();
    },
    message: m => onMessage(m),
    change: e => onChange(e),
    myReactions: m => onMyReactions(m),
    joinRequests: schoolId => { if (schoolId === school.schoolId) loadWaitingRequests(); },
    pending: item => { if (current?.id === item.chatId) renderPending(item); },
    // Sent: its copy goes even when the message is shown already (it came back through a catch-up first).
    sent: item => dropPending(item.clientId),
    sendFailed: (item, err) => {
      if (current?.id === item.chatId) {
        dropPending(item.clientId);
        renderPending(item);
      } else {
        const title = summaryOf(item.chatId)?.title;
        notice(`Сообщение ${title ? `в чат «${title}» ` : ''}не отправлено: ${err.message} Оно ждёт в чате: его можно отправить снова или удалить.`);
      }
    },
    typing: t => showTyping(t),
    // Joined or left a chat: the list is read again, and a parent's choice of child too (a child moved to another class).
    // Another school may have taken me in (a request approved) or let me go: the schools are read again too.
    membership: () => { loadChats(); if (school.isParent) loadChildren(); refreshSchools(); },
    chatUpdated: u => onChatUpdated(u),
    // A chat not followed here may have news the pushes missed (ChatAdvanced): when the list is behind it, the list is
    // read again — once for a burst of them (a restarted server's resends), not once each.
    stale: (chatId, seq) => {
      const s = summaryOf(chatId);
      if (s && (s.lastSeq ?? 0) >= seq) return;
      if (staleReload) { staleReload.again = true; return; }
      staleReload = { again: false };
      const run = () => loadChats().catch(() => {}).finally(() => {
        if (staleReload?.again) { staleReload.again = false; run(); } else staleReload = null;
      });
      run();
    },
    resynced: () => {
      // Reminders sent while this page was closed or offline are shown too (after the list: a toast names its chat).
      loadChats().then(() => calls.catchUpReminders());
      refreshSchools();
      loadWaitingRequests();
      watch.reconnected();
      if (current?.fromCache) connectKept(current);
      // Opened while the connection was already dead (a phone on 3G: it looked up for half a minute), the chat never
      // loaded: it loads now, its error line gone (unless a load of it is under way: it was opened just now).
      else if (current && !current.list.dataset.loaded) { if (!current.loading) { current.list.querySelector(':scope > .error.load-failed')?.remove(); loadChat(current); } }
      else if (current) {
        current.list.querySelector(':scope > .error.load-failed')?.remove(); // loaded, then failed later on (its catch-up follows anyway)
        calls.load(current); ticks.reload(current); rereadRestriction(current); rereadPolls(current);
      }
      // A read the open chat could not send (the connection was not up yet, or broke) goes now.
      if (current && !current.fromCache) scheduleRead();
    },
    read: p => { ticks.position(p); messageMore.readPosition(p); if (p.accountId === me.id) readElsewhere(p); },
    poll: u => onPoll(u),
    sessionEnded: () => refreshTokens(),
    restriction: r => { if (current?.id === r.chatId && r.accountId === me.id) setRestriction(current, r.lifted ? null : r); },
    callStarted: call => calls.started(call),
    callEnded: callId => calls.ended(callId),
    broadcastViewers: (callId, count) => calls.viewers(callId, count),
    participantJoined: (callId, p) => calls.participants(callId, list => [...list.filter(x => x.accountId !== p.accountId), p]),
    participantLeft: (callId, accountId) => calls.participants(callId, list => list.filter(x => x.accountId !== accountId)),
    callScheduled: plan => calls.scheduled(plan),
    callReminder: r => calls.remind(r),
  });
  client.start();
  watch.start();
  if (school.isParent) loadChildren();
  // No connection at first (or a slow one): what the device kept is shown meanwhile.
  setTimeout(showCachedList, nav.offline ? 0 : 3000);

  /** The top line: the connection's state, and when the page shows what the device kept, that it does. */
  function renderStatus() {
    statusEl.hidden = connection === 'connected';
    statusEl.textContent = listFromCache || current?.fromCache ? OFFLINE_NOTE
      : connection === 'offline' ? 'Нет сети. Сообщения отправятся, когда связь вернётся.'
      : client?.refused ? `${client.refused} Закройте лишние вкладки или приложения — подключимся снова через полминуты.`
      : 'Соединение…';
  }

  /** The chat lists this device kept (offline.js), until the server's come. */
  async function showCachedList() {
    const here = () => root.contains(layout) && !listLoaded; // still this screen, and still without the server's list
    if (!here() || listFromCache || client?.state === 'connected') return;
    const lists = await offline.chatLists();
    if (!lists?.[school.schoolId] || !here()) return;
    chats = lists[school.schoolId];
    others = Object.entries(lists).filter(([id]) => id !== school.schoolId && schools.some(x => x.schoolId === id)).flatMap(([, l]) => l);
    listFromCache = true;
    renderList();
    renderStatus();
    const wanted = sessionStorage.getItem('chat.open');
    if (wanted && chats.some(c => c.id === wanted)) { sessionStorage.removeItem('chat.open'); openChat(wanted); }
  }

  /** The list as it is now (the server's, with the pushes since), kept for the next time the page cannot connect. */
  function persistList() {
    if (!listLoaded || persistList.timer) return;
    persistList.timer = setTimeout(() => {
      persistList.timer = null;
      const bySchool = { [school.schoolId]: chats };
      for (const o of others) (bySchool[o.schoolId] ||= []).push(o);
      offline.saveChatLists(bySchool);
    }, 500);
  }

  /**
   * My schools read again after a membership push (debounced: an approval adds several chats at once). A new school
   * is said and «Сменить школу» appears; when this school is no longer mine, the page goes to the choice of school;
   * when my roles in it changed (made an admin), the screen is built again for them.
   */
  function refreshSchools() {
    clearTimeout(refreshSchools.timer);
    refreshSchools.timer = setTimeout(async () => {
      let fresh;
      try { fresh = await api('GET', '/api/me/schools'); } catch { return; } // a reconnect reads them again
      if (!root.contains(layout)) return;
      const known = new Set(schools.map(x => x.schoolId));
      const added = fresh.filter(x => !known.has(x.schoolId));
      schools.splice(0, schools.length, ...fresh); // the array nav.chooseSchool shows
      offline.saveSchools(fresh);
      const here = fresh.find(x => x.schoolId === school.schoolId);
      if (!here) {
        // Let go by this school (left the staff, the last child left it): said, not only a different screen.
        stopChat();
        await nav.reroute();
        notice(`Вы больше не состоите в школе «${school.name}». Её чаты больше недоступны.`, { kind: 'info', timeout: 15000 });
        return;
      }
      schoolButton.hidden = fresh.length < 2;
      for (const x of added) notice(`Вас приняли в школу «${x.name}». Перейти в неё — «Сменить школу».`);
      if (['isAdmin', 'isTeacher', 'isClassTeacher', 'isStudent', 'isParent'].some(k => here[k] !== school[k])) {
        // Made an admin or a class teacher (or no longer one), or a role added or gone: the screen is built again for
        // the new roles, with the open chat kept open.
        if (current) sessionStorage.setItem('chat.open', current.id);
        stopChat();
        nav.reroute();
        return;
      }
      if (added.length) loadChats(); // with two schools the list counts the other's chats
    }, 300);
  }

  async function loadChats() {
    try {
      // With several schools, all my chats in one call: this school's are listed, the others' only counted.
      const askedAt = performance.now();
      const all = await client.invoke('GetChats', schools.length > 1 ? null : school.schoolId);
      chats = all.filter(c => c.schoolId === school.schoolId);
      others = all.filter(c => c.schoolId !== school.schoolId);
      calls.fromList(all, askedAt);
    } catch {
      // Not read (the server busy, the connection lost meanwhile): asked again soon while connected (a reconnect asks
      // anyway), so the list does not stay at «Загрузка…».
      clearTimeout(loadChats.retry);
      loadChats.retry = setTimeout(() => { if (root.contains(layout) && client?.state === 'connected') loadChats(); }, 3000);
      return;
    }
    clearTimeout(loadChats.retry);
    listLoaded = true;
    listFromCache = false;
    renderStatus();
    renderList();
    watch.update();
    const wanted = sessionStorage.getItem('chat.open');
    if (wanted && chats.some(c => c.id === wanted)) { sessionStorage.removeItem('chat.open'); openChat(wanted); }
    const caseChat = sessionStorage.getItem(CASE_KEY);
    if (caseChat) { sessionStorage.removeItem(CASE_KEY); openChat(caseChat); }
    if (current) {
      const s = chats.find(c => c.id === current.id);
      if (s) { current.summary = s; renderHead(); } else if (!current.caseUntil) { leftChat(); }
    }
  }

  /** A parent with children in several classes picks whose class chats to see. */
  async function loadChildren() {
    try {
      const [members, classes] = await Promise.all([api('GET', `/api/schools/${school.schoolId}/members`), schoolClasses()]);
      const mine = members.find(m => m.accountId === me.id);
      const kids = (mine?.children || []).map(id => members.find(m => m.accountId === id)).filter(k => k?.classId);
      const classOf = id => kids.find(k => k.accountId === id)?.classId || '';
      if (kids.length < 2) {
        childBox.hidden = true; chosenChild = ''; childClass = ''; childLabels = []; renderList();
        return;
      }
      const select = h('select', {
        id: 'child-filter',
        onchange: () => {
          chosenChild = select.value;
          childClass = classOf(chosenChild);
          if (chosenChild) localStorage.setItem(CHILD_KEY, chosenChild); else localStorage.removeItem(CHILD_KEY);
          renderList();
        },
      },
      h('option', { value: '' }, 'Все дети'),
      kids.map(k => h('option', { value: k.accountId })));
      // Each child's option says how many unread its class chats hold: what the title counts is never out of sight.
      childLabels = kids.map(k => ({ option: select.querySelector(`option[value="${k.accountId}"]`), classId: k.classId,
        name: `${k.displayName} (${classes.find(c => c.id === k.classId)?.name || ''})` }));
      if (!classOf(chosenChild)) chosenChild = '';
      select.value = chosenChild;
      childClass = classOf(chosenChild);
      fill(childBox, h('label', { for: 'child-filter', class: 'muted', style: 'font-size:.85rem' }, 'Ребёнок'), select);
      childBox.hidden = false;
      renderList();
    } catch { /* the filter is optional */ }
  }

  /** Active chats first; archived ones (of an archived or graduated class) under a collapsed «Архив (N)» at the end. */
  function renderList() {
    for (const { option, classId, name } of childLabels) {
      const n = unreadOf(chats.filter(c => c.classId === classId));
      option.textContent = n ? `${name} · ${n} ${plural(n, 'непрочитанное', 'непрочитанных', 'непрочитанных')}` : name;
    }
    const shown = chats.filter(c => (!filter || c.title.toLowerCase().includes(filter)) && (!childClass || !c.classId || c.classId === childClass));
    const archived = shown.filter(c => c.archived);
    fill(list, ...shown.filter(c => !c.archived).map(chatItem));
    if (archived.length) {
      const toggle = h('button', {
        class: 'archive-toggle', type: 'button', 'aria-expanded': String(archiveOpen), 'aria-controls': 'archived-chats',
        onclick: () => { archiveOpen = !archiveOpen; renderList(); list.querySelector('.archive-toggle')?.focus(); },
      }, h('span', { 'aria-hidden': 'true' }, archiveOpen ? '▾ ' : '▸ '), `Архив (${archived.length})`);
      list.append(h('div', { class: 'archive', role: 'listitem' }, toggle,
        h('div', { id: 'archived-chats', role: 'list', 'aria-label': 'Чаты в архиве', hidden: !archiveOpen }, archiveOpen && archived.map(chatItem))));
    }
    if (shown.length === 0) list.append(h('p', { class: 'center muted' }, chats.length ? 'Ничего не найдено' : listLoaded || listFromCache ? (school.status === 'suspended' ? 'Работа школы приостановлена оператором платформы: её чаты недоступны.' : 'Чатов пока нет') : 'Загрузка…'));
    persistList();
    const elsewhere = unreadOf(others);
    showUnread(unreadOf(chats) + elsewhere);
    // A lesson or a parents' meeting going on in another of my schools: marked on the way there.
    const liveElsewhere = others.map(o => calls.liveKind(o.id)).find(Boolean);
    fill(schoolButton, 'Сменить школу',
      liveElsewhere && liveMark(`${LIVE_NAMES[liveElsewhere]} в другой школе`),
      unreadBadge(elsewhere, ' в других школах'));
  }

  /** My own read position pushed from another device (or this one): the chat's unread count follows it. */
  function readElsewhere(p) {
    const s = summaryOf(p.chatId) || others.find(o => o.id === p.chatId);
    if (!s || p.seq <= (s.readSeq || 0)) return;
    s.readSeq = p.seq;
    notifier.read(p.chatId);
    if (!s.unreadCount) return;
    // Read to the end (past the chat's newest message: its last seq may be a later edit or reaction) nothing is unread;
    // read part of the way, the server counts what is left — once for a burst of reads while scrolling.
    const newest = current?.id === p.chatId ? newestMessageSeq(current) : s.lastMessage?.seq ?? s.lastSeq;
    if (p.seq >= newest) { s.unreadCount = 0; s.mentionCount = 0; renderList(); return; }
    clearTimeout(readElsewhere.timer);
    readElsewhere.timer = setTimeout(loadChats, 1000);
  }

  /** The seq of the newest message the open chat shows (not of a later edit or reaction). */
  function newestMessageSeq(c) {
    let newest = 0;
    for (const seq of c.msgs.keys()) if (seq > newest) newest = seq;
    return newest;
  }

  function chatItem(c) {
    const last = c.lastMessage;
    const lastText = last ? (last.deleted ? 'Сообщение удалено' : (last.senderName && c.kind !== 'direct' ? last.senderName + ': ' : '') + preview(last)) : 'Нет сообщений';
    const draft = current?.id !== c.id && drafts.get(c.id);
    const live = calls.liveKind(c.id);
    return h('button', {
      class: 'chat-item', role: 'listitem', 'aria-current': current?.id === c.id ? 'true' : 'false', dataset: { chatId: c.id },
      onclick: () => openChat(c.id),
    },
    h('span', { class: 'main' },
      h('span', { class: 'name' }, c.kind === 'direct' && c.peerId && watch.dot(c.peerId), c.title),
      h('span', { class: 'last' }, c.readOnly && h('span', { class: 'kind' }, 'Канал · '), live && h('span', { class: 'kind live' }, `● ${LIVE_NAMES[live]} · `),
        draft ? [h('span', { class: 'draft' }, 'Черновик: '), draft] : lastText)),
    h('span', { class: 'side' },
      c.pinned && h('span', { class: 'flag pinned', title: 'Закреплён', 'aria-label': 'закреплён' }, '📌 '),
      mutedNow(c) && h('span', { class: 'flag muted-flag', title: mutedLabel(c), 'aria-label': mutedLabel(c).toLowerCase() }, '🔕 '),
      h('span', { class: 'muted', style: 'font-size:.75rem' }, shortTime(c.lastMessageAt)), h('br'),
      calls.reminderBadge(c.id),
      c.mentionCount > 0 && h('span', { class: 'badge mention', title: 'Упоминания' }, '@' + c.mentionCount),
      unreadBadge(c.unreadCount, '', mutedNow(c) ? 'muted-badge' : '')));
  }

  function summaryOf(chatId) {
    return chats.find(c => c.id === chatId);
  }

  function onMessage(m) {
    const s = summaryOf(m.chatId);
    if (s && m.seq > (s.lastMessage?.seq ?? 0)) {
      s.lastMessage = m; s.lastMessageAt = m.createdAt; s.lastSeq = Math.max(s.lastSeq, m.seq);
      // Open, in view and scrolled to the newest: the message is read as it comes; scrolled up, it is counted.
      const open = current?.id === m.chatId && !document.hidden && !(current.down && !current.down.hidden);
      if (m.senderId !== me.id && !open) {
        s.unreadCount++;
        if (m.mentions?.includes(me.id)) s.mentionCount++;
      }
      notifier.message(m, s, open);
      chats = [s, ...chats.filter(c => c !== s)].sort((a, b) => (b.pinned - a.pinned));
      renderList();
    } else if (!s && current?.id !== m.chatId) { // the open chat of a moderation case is in no list
      onOtherSchoolMessage(m);
    }
    if (current?.id === m.chatId) { putMessage(m); renderDown(current); scheduleRead(); } else offline.mergeEvent(m.chatId, m.seq, m);
  }

  /** A message in a chat of another of my schools: counted on «Сменить школу» and notified; an unknown chat reloads. */
  function onOtherSchoolMessage(m) {
    const o = others.find(c => c.id === m.chatId);
    if (!o) {
      // Not known yet (the list is still being read right after connecting, or the chat is new to me): read the list,
      // which counts the message, and notify it then — a message that came in the first second is notified too.
      loadChats().then(() => { if (others.some(c => c.id === m.chatId)) notifier.message(m, notifiedAs(m.chatId), false); });
      return;
    }
    if (m.seq <= (o.lastMessage?.seq ?? 0)) return;
    o.lastMessage = m; o.lastMessageAt = m.createdAt; o.lastSeq = Math.max(o.lastSeq, m.seq);
    if (m.senderId !== me.id) {
      o.unreadCount++;
      if (m.mentions?.includes(me.id)) o.mentionCount++;
    }
    notifier.message(m, notifiedAs(o.id), false);
    renderList();
  }

  /** A chat as its notifications name it: this school's by its title, another school's with the school's name after it. */
  function notifiedAs(chatId) {
    const s = summaryOf(chatId);
    if (s) return s;
    const o = others.find(c => c.id === chatId);
    const schoolName = o && schools.find(x => x.schoolId === o.schoolId)?.name;
    return schoolName ? { ...o, title: `${o.title} · ${schoolName}` } : o;
  }

  function onChange(e) {
    const s = summaryOf(e.chatId);
    if (s && s.lastMessage?.seq === e.message.seq) { s.lastMessage = e.message; renderList(); }
    if (current?.id === e.chatId) {
      pinnedChanged(current, e);
      const had = current.msgs.get(e.message.seq);
      if (had) putMessage(keepMyReactions(had, { ...e.message, poll: mergePoll(had.poll, e.message.poll) })); else persistChat(current);
    } else offline.mergeEvent(e.chatId, e.seq, e.message);
  }

  /**
   * A channel's push names no reacters (its readers are not shown to each other): my own reactions, known from my
   * last reading of the message or my own React, are kept on it — as long as the emoji is still there at all.
   */
  function keepMyReactions(had, pushed) {
    if (!pushed.reactions?.length || pushed.reactions.some(r => r.by.length)) return pushed;
    const mine = new Set((had.reactions || []).filter(r => r.by.includes(me.id)).map(r => r.emoji));
    return { ...pushed, mineAt: had.mineAt, reactions: pushed.reactions.map(r => (mine.has(r.emoji) ? { ...r, by: [me.id] } : r)) };
  }

  /**
   * I reacted in a channel, here or on another device (MyReactions): the message with my reactions named. Its counts
   * are taken unless a later change of the message is shown already; which reactions are mine is taken either way.
   */
  function onMyReactions(m) {
    const had = current?.id === m.chatId ? current.msgs.get(m.seq) : null;
    const version = m.version ?? 0;
    // Two of these can cross (two devices reacting at once, through two servers): an older one changes nothing.
    if (!had || had.deleted || (had.mineAt ?? -1) > version) return;
    const mine = new Set((m.reactions || []).filter(r => r.by.includes(me.id)).map(r => r.emoji));
    const newer = version >= (had.version ?? 0);
    const base = newer ? m.reactions || [] : had.reactions || [];
    putMessage({ ...had, version: Math.max(version, had.version ?? 0), mineAt: version,
      reactions: base.map(r => ({ ...r, by: mine.has(r.emoji) ? [me.id] : r.by.filter(x => x !== me.id) })) });
  }

  /**
   * A chat was renamed, or archived or restored with its class (ChatUpdated): the list, the open chat's header and its
   * input follow. The push is the same for every member; my own canPost follows from my role, as on the server.
   */
  function onChatUpdated(u) {
    const open = current?.id === u.chatId ? current : null;
    const targets = new Set([summaryOf(u.chatId), others.find(o => o.id === u.chatId), open?.summary].filter(Boolean));
    if (!targets.size) return;
    const couldPost = open?.summary.canPost;
    for (const x of targets) {
      Object.assign(x, { title: u.title, avatarUrl: u.avatarUrl, readOnly: u.readOnly, archived: u.archived });
      x.canPost = !u.archived && (!u.readOnly || x.role !== 'member');
    }
    renderList();
    if (!open) return;
    renderHead();
    if (open.summary.canPost !== couldPost) for (const m of open.msgs.values()) rerender(m); // «Ответить» comes and goes
  }

  /**
   * A poll's view pushed to the whole chat lacks what only I see of a quiz — whether I was right, and its right answer
   * while it is open (mine to see once I answered, or as its author): kept from what I had, not wiped by the next vote.
   */
  function mergePoll(had, pushed) {
    if (!had || !pushed) return pushed;
    return { ...pushed, correctOptionId: pushed.correctOptionId ?? had.correctOptionId, answeredCorrectly: pushed.answeredCorrectly ?? had.answeredCorrectly };
  }

  function onPoll(u) {
    const c = current;
    if (c?.id !== u.chatId) return;
    const m = c.msgs.get(u.seq);
    if (!m?.poll) return;
    if (m.poll.closedAt && !u.poll.closedAt) return; // a late update from another node: the closed results are final
    m.poll = mergePoll(m.poll, u.poll);
    rerender(m);
  }

  // ---- new chats ----

  async function schoolMembers() {
    const members = await api('GET', `/api/schools/${school.schoolId}/members`);
    return members.filter(m => m.accountId !== me.id);
  }

  function schoolClasses() {
    return api('GET', `/api/schools/${school.schoolId}/classes`);
  }

  async function openDirect(accountId) {
    const chat = await client.invoke('OpenDirectChat', school.schoolId, accountId);
    await loadChats();
    openChat(chat.id);
    return chat;
  }

  async function newDirectChat() {
    let members;
    const classes = schoolClasses().catch(() => []); // names only
    try { members = await schoolMembers(); } catch (e) { notice(e.display || 'Не удалось загрузить участников.'); return; }
    // Only those the school's rules let me write to (the server says so per member: canMessage).
    const reachable = members.filter(m => m.canMessage);
    if (!reachable.length) { notice('По правилам школы вам пока некому написать лично.'); return; }
    const classNames = new Map((await classes).map(c => [c.id, c.name]));
    // A teacher is named with the classes they lead, so that a parent of several children tells their teachers apart.
    const label = m => m.displayName + (m.verifiedTeacher
      ? ' — учитель' + (m.classTeacherOf?.length ? ', классный руководитель ' + m.classTeacherOf.map(id => classNames.get(id)).filter(Boolean).join(', ') : '')
      : '');
    await formDialog({
      title: 'Написать лично',
      text: 'Видны только те, кому вам можно писать по правилам школы (режим безопасности для учеников).',
      fields: [{ name: 'accountId', label: 'Кому', type: 'select', required: true, options: reachable.map(m => ({ value: m.accountId, label: label(m) })) }],
      submit: 'Открыть чат',
      onSubmit: async v => { try { return await openDirect(v.accountId); } catch (e) { throw hubFail(e); } },
    });
  }

  async function newGroupChat() {
    let classes = [];
    try { classes = (await schoolClasses()).filter(c => c.kind !== 'staff_room'); } catch { /* optional */ }
    const kinds = [{ value: 'subject', label: 'Предметный чат класса' }, { value: 'group', label: 'Группа' }];
    if (school.isAdmin) kinds.push({ value: 'channel', label: 'Канал (пишут только администраторы и назначенные)' });
    await formDialog({
      title: 'Новый чат',
      fields: [
        { name: 'kind', label: 'Тип', type: 'select', options: kinds, value: 'subject' },
        { name: 'title', label: 'Название', required: true, maxlength: 200 },
        { name: 'classId', label: 'Класс (ученики класса будут добавлены)', type: 'select', options: [{ value: '', label: 'без класса' }, ...classes.map(c => ({ value: c.id, label: c.name }))] },
        { name: 'rules', label: 'Правила чата', type: 'textarea', maxlength: 4000 },
      ],
      submit: 'Создать',
      onSubmit: async v => {
        let memberIds = [];
        if (v.classId) {
          try {
            const people = await api('GET', `/api/schools/${school.schoolId}/members?classId=${v.classId}`);
            memberIds = people.filter(p => p.roles.includes('student') && p.classId === v.classId).map(p => p.accountId);
          } catch { /* the chat is created without them */ }
        }
        let chat;
        try {
          chat = await client.invoke('CreateChat', { schoolId: school.schoolId, kind: v.kind, title: v.title.trim(), classId: v.classId || undefined, rules: v.rules.trim() || undefined, memberIds });
        } catch (e) { throw hubFail(e); }
        await loadChats();
        openChat(chat.id);
        return chat;
      },
    });
  }

  // ---- the open chat ----

  async function openChat(chatId, focusSeq) {
    await draftsLoaded;
    const summary = summaryOf(chatId) || await caseSummary(chatId);
    if (!summary) return;
    clearTimeout(current?.restrictionTimer);
    current = { id: chatId, summary, caseUntil: summary.caseUntil, rules: '', pinned: null, els: new Map(), msgs: new Map(), pendingEls: new Map(), oldest: null, replyTo: null, editing: null, members: [], myVotes: new Map(), asked: new Set(), restriction: null };
    layout.classList.add('chat-open');
    renderList();
    buildPane();
    const c = current;
    if (!c.caseUntil) c.input.value = drafts.get(chatId) ?? '';
    if (client.state !== 'connected') await openKept(c); else await loadChat(c, focusSeq);
    // After the messages: an upload whose message did go out (only its answer was lost) is not offered again.
    offerKeptUploads(c);
  }

  /**
   * The open chat from the server: its details, members and (unless read from the device already) the newest page of
   * history; then what happened since is caught up and the chat is read.
   */
  async function loadChat(c, focusSeq) {
    const chatId = c.id;
    c.loading = true;
    try {
      const details = await client.invoke('GetChat', chatId);
      if (current !== c) return;
      c.summary = details.chat; c.rules = details.rules; c.caseUntil = details.caseUntil;
      setPinned(c, details.pinnedMessage ?? null);
      ticks.opened(c, details.othersReadSeq);
      setRestriction(c, await client.invoke('GetMyRestriction', chatId).catch(() => null));
      calls.load(c);
      c.members = await client.invoke('GetChatMembers', chatId).catch(() => []);
      if (current !== c) return;
      // Where I stopped reading: the page opens there (with earlier pages loaded up to it), not at the newest message.
      const readSeq = c.caseUntil ? null : c.summary.readSeq ?? 0;
      if (!c.fromCache) {
        const unread = readSeq === null ? 0 : (c.summary.lastSeq ?? 0) - readSeq;
        const page = Math.min(HISTORY_PAGE_MAX, Math.max(50, unread + 10));
        const history = await client.invoke('GetHistory', chatId, null, page);
        if (current !== c) return;
        client.follow(chatId, history.reduce((a, m) => Math.max(a, m.seq, m.version), 0));
        for (const m of history) putMessage(m);
        c.oldest = history.length ? history[0].seq : null;
        c.list.dataset.loaded = 'true';
        c.more.hidden = !(history.length === page && c.oldest > 1);
        for (const item of client.pendingFor(chatId)) renderPending(item);
        c.list.scrollTop = c.list.scrollHeight;
      }
      c.fromCache = false;
      renderStatus();
      // While the list is being placed (earlier pages loading, scrolled to the line) nothing counts as seen: the
      // newest page, shown for a moment at the bottom, must not be marked read.
      c.positioning = true;
      try {
        if (focusSeq) await showFound(c, focusSeq);
        else if (readSeq !== null) await showFirstUnread(c, readSeq);
      } finally { c.positioning = false; }
      await client.catchUp(chatId);
      persistChat(c, true);
      notifier.read(chatId);
      renderList();
      scheduleRead();
      if (c.caseUntil) followCase(c);
    } catch (e) {
      // Once (a reconnect takes it away, and loads the chat again if it never loaded).
      c.list.querySelector(':scope > .error.load-failed')?.remove();
      c.list.append(h('p', { class: 'error load-failed' }, hubError(e).message));
    } finally {
      c.loading = false;
    }
  }

  /**
   * My mute or block in the open chat (null: none), shown in the header; when it runs out the server is asked again
   * (a second after its end: a new one may have followed), so the input comes back without reopening the chat.
   */
  function setRestriction(c, r, again = 0) {
    clearTimeout(c.restrictionTimer);
    c.restriction = r;
    if (current === c) renderHead();
    if (!r) return;
    // A device whose clock runs ahead of the server's hears «still restricted» at the end: it asks later and later.
    const wait = Math.max(new Date(r.endsAt).getTime() - Date.now() + 1000, 1000 * 2 ** Math.min(again, 6));
    c.restrictionTimer = setTimeout(() => { if (current === c) rereadRestriction(c, again + 1); }, Math.min(wait, 24 * 3600 * 1000));
  }

  /** After a reconnect (a lift pushed meanwhile was missed) or when the restriction ran out. */
  async function rereadRestriction(c, again = 0) {
    try {
      const r = await client.invoke('GetMyRestriction', c.id);
      if (current === c) setRestriction(c, r, again);
    } catch { /* offline: the next reconnect asks again */ }
  }

  /**
   * A chat the admin moderates through an open case (ModerationService.OpenCaseAsync): she is not a member, so it is
   * in no list and GetChat tells until when. Null for anyone else.
   */
  async function caseSummary(chatId) {
    if (!school.isAdmin) return null;
    try {
      const details = await invoke('GetChat', chatId);
      return details.caseUntil ? { ...details.chat, caseUntil: details.caseUntil } : null;
    } catch (e) { hubNotice(e); return null; }
  }

  /** Not a member, the admin gets no pushes of the case's chat: what arrives meanwhile is caught up every 15 seconds. */
  function followCase(c) {
    const mine = client; // a screen left and built again has another client: this timer then stops
    const timer = setInterval(() => { if (current === c && client && client === mine) client.catchUp(c.id); else clearInterval(timer); }, CASE_POLL_MS);
  }

  /**
   * No connection: the chat as this device kept it (offline.js), followed from the kept seq, so that the connection's
   * catch-up brings it up to date from there; the rest (details, read position) comes with the connection (resynced).
   * Messages typed meanwhile wait in the outbox as usual.
   */
  async function openKept(c) {
    c.fromCache = true;
    renderStatus();
    const kept = await offline.chat(c.id);
    if (current !== c || !c.fromCache) return; // closed, or the connection came meanwhile (connectKept)
    if (kept && (c.summary.lastSeq ?? 0) - kept.seq <= CATCH_UP_LIMIT) {
      c.members = kept.members || [];
      client.followFrom(c.id, kept.seq);
      for (const m of kept.messages) putMessage(m);
      c.oldest = kept.messages[0]?.seq ?? null;
      c.complete = kept.complete;
      c.kept = true;
    } else {
      c.list.append(h('p', { class: 'muted center kept-none' }, 'Сообщения этого чата не сохранены на устройстве. Они появятся, когда связь вернётся.'));
    }
    c.list.dataset.loaded = 'true';
    persistChat(c, true);
    for (const item of client.pendingFor(c.id)) renderPending(item);
    c.list.scrollTop = c.list.scrollHeight;
  }

  /** The connection is back for a chat opened from the device: the rest is loaded (the kept messages are caught up). */
  function connectKept(c) {
    if (c.kept) c.more.hidden = c.complete || !(c.oldest > 1);
    else { c.fromCache = false; c.list.querySelector('.kept-none')?.remove(); }
    return loadChat(c);
  }

  /** Keeps the open chat's newest messages (and the seq they are caught up to) for reading offline. */
  function persistChat(c, opened = false) {
    // Not a moderation case's chat: the admin may read it only while the case is open.
    if (c.caseUntil || (c.fromCache && !c.kept)) return;
    if (client.lastSeq(c.id) === undefined || !c.list.dataset.loaded) return;
    c.openedNow ||= opened;
    clearTimeout(c.persistTimer);
    const live = client;
    c.persistTimer = setTimeout(() => {
      // Signed out or switched school meanwhile: nothing is kept any more (sign-out has cleared the device).
      if (client !== live) return;
      offline.saveChat(c.id, {
        schoolId: school.schoolId, seq: live.lastSeq(c.id), complete: c.fromCache ? c.complete : c.more.hidden,
        messages: [...c.msgs.values()], members: c.members, opened: c.openedNow,
      });
      c.openedNow = false;
    }, 300);
  }

  function buildPane() {
    const c = current;
    c.head = h('div', { class: 'chat-head' });
    c.banner = h('div');
    c.pinBar = h('div', { class: 'pinned-bar', role: 'region', 'aria-label': 'Закреплённое сообщение', hidden: true });
    c.more = h('button', { class: 'btn small', hidden: true, onclick: () => loadEarlier().catch(hubNotice), style: 'align-self:center' }, 'Загрузить более ранние');
    c.list = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Сообщения' }, c.more);
    c.down = h('button', { class: 'btn small to-newest', type: 'button', hidden: true, onclick: () => { c.list.scrollTop = c.list.scrollHeight; } }, '↓ К новым');
    c.list.addEventListener('scroll', () => {
      if (c.scrollFrame) return;
      c.scrollFrame = requestAnimationFrame(() => { c.scrollFrame = 0; if (current === c) { renderDown(c); scheduleRead(); } });
    }, { passive: true });
    c.typing = h('div', { class: 'typing', 'aria-live': 'polite' });
    c.bar = h('div', { class: 'composer-bar', hidden: true });
    c.uploads = h('div', { class: 'uploads', 'aria-live': 'polite' });
    c.mentionList = h('ul', { class: 'mention-list', role: 'listbox', 'aria-label': 'Упомянуть участника', hidden: true });
    c.input = h('textarea', { rows: 1, 'aria-label': 'Сообщение', placeholder: 'Сообщение', maxlength: 4000, 'aria-autocomplete': 'list' });
    c.input.addEventListener('keydown', ev => {
      if (!c.mentionList.hidden && mentionKey(ev)) return;
      if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); submit(); }
      if (ev.key === 'Escape') clearBar();
    });
    c.input.addEventListener('input', () => {
      noteDraft(c);
      updateMentions();
      const now = Date.now();
      if (!c.typedAt || now - c.typedAt > 3000) { c.typedAt = now; client.invoke('Typing', c.id).catch(() => {}); }
    });
    c.fileInput = h('input', { type: 'file', multiple: true, hidden: true, 'aria-label': 'Файлы для отправки', onchange: () => { const files = [...c.fileInput.files]; c.fileInput.value = ''; sendChosen(files); } });
    c.composer = h('form', { class: 'composer', onsubmit: ev => { ev.preventDefault(); submit(); } },
      h('button', { class: 'btn icon', type: 'button', 'aria-label': 'Прикрепить файл', title: 'Прикрепить файл', onclick: () => c.fileInput.click() }, 'Файл'),
      h('button', { class: 'btn icon', type: 'button', 'aria-label': 'Создать опрос', title: 'Создать опрос', onclick: newPoll }, 'Опрос'),
      voiceButton(c.uploads, file => sendFiles([file])),
      c.fileInput, c.input, h('button', { class: 'btn primary', type: 'submit' }, 'Отправить'));
    c.readonly = h('div', { class: 'readonly-note', role: 'status', tabindex: -1 }, 'В этом канале пишут только администраторы и назначенные ими авторы.');
    c.side = h('aside', { class: 'side-panel', hidden: true, 'aria-label': 'О чате' });
    const body = h('div', { class: 'chat-body' }, c.head, c.banner, c.pinBar, h('div', { class: 'messages-wrap' }, c.list, c.down), c.typing, c.uploads, c.bar, c.mentionList, c.composer, c.readonly);
    fill(pane, h('div', { class: 'chat-wrap' }, body, c.side));
    renderHead();
  }

  /**
   * The header: the title (shortened with an ellipsis, never pushed out), the first call action (start a lesson, call or
   * broadcast) and «Ещё» with the rest: planning, pin, mute, «О чате». A re-render keeps an open menu open.
   */
  function renderHead() {
    const c = current;
    const s = c.summary;
    // A moderation case is for moderating: no lessons or calls from it (and a phone's header keeps room for «Ещё»).
    const [first, ...after] = c.caseUntil ? [] : calls.headButtons(c).filter(Boolean);
    const primary = first?.tagName === 'A' ? first : null;
    const rest = primary ? after : [first, ...after];
    const old = c.menu;
    const hadFocus = c.head.contains(document.activeElement);
    const focusIndex = old?.focusedIndex() ?? -1;
    old?.dispose();
    c.menu = menuButton('Ещё', 'Ещё действия', [
      ...rest,
      // Pin and mute are a member's own settings: not for the chat of a moderation case.
      !c.caseUntil && h('button', { type: 'button', onclick: () => setPreferences(c, { pinned: !s.pinned }) }, s.pinned ? 'Открепить' : 'Закрепить'),
      ...(c.caseUntil ? [] : mutedNow(s)
        ? [h('button', { type: 'button', title: mutedLabel(s), onclick: () => setPreferences(c, { unmute: true }) }, 'Включить звук')]
        : MUTE_CHOICES.map(([label, until]) => h('button', { type: 'button', onclick: () => setPreferences(c, { mutedUntil: until(Date.now()).toISOString() }) }, label))),
      h('button', { type: 'button', onclick: () => searchHere(c) }, 'Искать в этом чате'),
      h('button', { type: 'button', onclick: () => showMaterials({ invoke, openChat: (id, seq) => openChat(id, seq), returnFocus: () => current?.menu?.querySelector('.menu-toggle')?.focus() }, c.id) }, 'Материалы'),
      h('button', { type: 'button', onclick: toggleInfo }, 'О чате')], { open: old?.isOpen(), focusIndex });
    fill(c.head,
      h('button', { class: 'btn small phone-only', onclick: closeChat, 'aria-label': 'К списку чатов' }, '←'),
      h('h2', { title: s.title }, s.title),
      s.kind === 'direct' && s.peerId && watch.text(s.peerId),
      h('span', { class: 'muted head-meta' }, `${KIND_NAMES[s.kind] || ''} · ${s.memberCount} ${plural(s.memberCount, 'участник', 'участника', 'участников')}`),
      c.caseUntil && h('span', { class: 'case-end' }, caseEnd(c.caseUntil)),
      primary,
      c.menu);
    if (hadFocus && !c.head.contains(document.activeElement) && focusIndex < 0) c.menu.querySelector('.menu-toggle').focus();
    const blocked = !!c.restriction;
    const typing = c.composer.contains(document.activeElement);
    c.composer.hidden = !s.canPost || blocked;
    c.readonly.hidden = s.canPost || blocked;
    c.readonly.textContent = s.archived ? 'Чат в архиве: история сохранена, писать в него нельзя.'
      : c.caseUntil ? 'Вы ведёте разбор этого чата: модерировать можно, писать в него — нет.'
      : 'В этом канале пишут только администраторы и назначенные ими авторы.';
    if (typing && c.composer.hidden) c.readonly.focus(); // the input went away under the cursor (the chat was archived): say why
    c.banner.replaceChildren();
    c.banner.append(...calls.banners(c));
    if (c.caseUntil) {
      c.banner.append(h('div', { class: 'banner case-banner', role: 'status' },
        `Разбор чата: вы модератор здесь до ${caseUntil(c.caseUntil)}, не участник. Чата нет в вашем списке; `
        + 'новые сообщения появляются с задержкой до 15 секунд. Действия записываются в журнал школы.'));
    }
    if (blocked) {
      c.banner.append(moderation.restrictionBanner(c.restriction));
    }
    if (c.rules && !s.rulesAccepted) {
      c.banner.append(h('div', { class: 'banner' }, h('strong', {}, 'Правила чата: '), h('span', { class: 'rules-inline' }, c.rules), ' ',
        h('button', { class: 'btn small', onclick: async () => { try { await client.invoke('AcceptChatRules', c.id, s.rulesVersion); s.rulesAccepted = true; renderHead(); } catch (e) { hubNotice(e); } } }, 'Принимаю')));
    }
  }

  /** Pins or mutes the chat for me (SetChatPreferences); the list comes back from the server in its order (pinned first). */
  async function setPreferences(c, prefs) {
    try {
      await client.invoke('SetChatPreferences', c.id, prefs);
    } catch (e) { hubNotice(e); return; }
    for (const x of new Set([c.summary, summaryOf(c.id)].filter(Boolean))) {
      if (prefs.pinned !== undefined) x.pinned = prefs.pinned;
      if (prefs.unmute) x.mutedUntil = null;
      if (prefs.mutedUntil) x.mutedUntil = prefs.mutedUntil;
    }
    if (current === c) renderHead();
    if (prefs.mutedUntil) unmuteLater(prefs.mutedUntil);
    // The server's order: pinned first, then by the last message.
    const at = x => new Date(x.lastMessageAt || 0).getTime();
    chats.sort((a, b) => (b.pinned - a.pinned) || (at(b) - at(a)));
    renderList();
  }

  /** When a mute of mine runs out while the page is open, the list and the header show the chat's sound back. */
  function unmuteLater(iso) {
    const wait = new Date(iso).getTime() - Date.now();
    if (wait <= 0 || wait > 2 * 86400000) return; // a long mute is shown as it is until the next page
    setTimeout(() => {
      if (!client) return; // signed out meanwhile
      renderList();
      if (current) renderHead();
    }, wait + 1000);
  }

  /** The open chat is no longer mine (a moderator removed me, or I left the school's roster chat). */
  function leftChat() {
    current = null;
    renderList();
    fill(pane, h('div', { class: 'pane-empty' },
      h('p', { role: 'status' }, 'Вы больше не участник этого чата.'),
      h('button', { class: 'btn small phone-only', type: 'button', onclick: closeChat }, 'К списку чатов')));
  }

  /** «Искать в этом чате»: the sidebar's message search limited to the open chat (on a phone the list side comes back for it). */
  function searchHere(c) {
    if (matchMedia('(max-width: 760px)').matches) closeChat();
    search.searchIn(c.id, c.summary.title);
  }

  function closeChat() {
    clearTimeout(current?.restrictionTimer);
    current = null;
    layout.classList.remove('chat-open');
    fill(pane, h('div', { class: 'pane-empty' }, 'Выберите чат слева'));
    renderList();
    list.querySelector('.chat-item')?.focus();
  }

  async function toggleInfo() {
    const c = current;
    if (!c.side.hidden) { c.side.hidden = true; renderHead(); return; }
    c.side.hidden = false;
    renderHead();
    await renderInfo();
    watch.refresh(); // the members' presence, asked at once (with the list's peers: one call per 500)
    c.side.querySelector('button')?.focus();
  }

  async function renderInfo() {
    const c = current;
    const moderator = c.summary.role !== 'member';
    if (!c.side.children.length) fill(c.side, h('p', { class: 'muted' }, 'Загрузка…'));
    try {
      const [members, restrictions, reports, violations] = await Promise.all([
        client.invoke('GetChatMembers', c.id),
        moderator ? client.invoke('GetRestrictions', c.id) : [],
        moderator ? client.invoke('GetReports', c.id, 'open') : [],
        // «Нарушений: N» under each name, as recorded by any moderator at any time (not only on this page).
        moderator ? client.invoke('GetChatViolations', c.id).catch(() => null) : [],
      ]);
      if (current !== c) return;
      c.members = members;
      if (violations) c.violations = new Map(violations.map(v => [v.accountId, v]));
      c.violations ||= new Map();
      const roleName = { owner: 'владелец', moderator: 'модератор', member: '' };
      const handsOn = c.summary.role === 'owner' && leavable(c.summary) && !c.summary.archived && !c.caseUntil;
      const nameOf = id => members.find(m => m.accountId === id)?.displayName || 'участник';
      fill(c.side, 
        h('div', { class: 'row' }, h('h3', { style: 'flex:1' }, 'О чате'), h('button', { class: 'btn small', onclick: toggleInfo, 'aria-label': 'Закрыть' }, '✕')),
        h('h3', {}, 'Правила'),
        h('div', { class: 'rules' }, c.rules || 'Правила не заданы.'),
        // An archived chat stays as it was: no reminders, no new links (the server refuses them: chat_archived).
        moderator && !c.summary.archived && h('div', { class: 'row', style: 'margin-top:.5rem' },
          h('button', { class: 'btn small', type: 'button', onclick: () => client.invoke('RemindRules', c.id, newId()).catch(hubNotice) }, 'Напомнить правила')),
        // A moderation case lets an admin moderate, not manage who is in the chat (the server: moderator_only).
        // Links bring people in: staff's too (a pupil or parent moderator gets add_member_not_allowed).
        moderator && !c.summary.archived && !c.caseUntil && INVITE_KINDS.has(c.summary.kind) && (school.isAdmin || school.isTeacher) && chatInvitesBox(c, id => members.find(m => m.accountId === id)?.displayName),
        // Bringing people in is staff's (the server: add_member_not_allowed for a pupil or parent made a moderator).
        moderator && !c.summary.archived && !c.caseUntil && INVITE_KINDS.has(c.summary.kind) && (school.isAdmin || school.isTeacher)
          && h('div', { class: 'row', style: 'margin-top:.5rem' }, h('button', { class: 'btn small', type: 'button', onclick: () => addMembers(c) }, 'Добавить участников')),
        moderator && moderation.reportsBox(c, reports, nameOf),
        moderator && calls.callsBox(c),
        // A channel's reader is shown who writes there, not its readers (the server lists them to its writers only).
        h('h3', { style: 'margin-top:1rem' }, c.summary.kind === 'channel' && c.summary.role === 'member' ? `Пишут в канал (${members.length})` : `Участники (${members.length})`),
        c.summary.kind === 'channel' && c.summary.role === 'member' && h('p', { class: 'muted' }, `Всего в канале: ${c.summary.memberCount}`),
        h('ul', { class: 'list-plain members' }, members.map(m => {
          const manage = moderator && m.accountId !== me.id && m.role === 'member';
          return h('li', { class: 'member', dataset: { accountId: m.accountId } },
            m.accountId !== me.id && watch.dot(m.accountId),
            h('span', { class: 'member-name' }, m.displayName),
            m.verifiedTeacher && h('span', { class: 'verified', title: 'Подтверждённый учитель' }, ' ✔ подтверждённый учитель'),
            roleName[m.role] && h('span', { class: 'muted', style: 'font-size:.8rem' }, ' · ' + roleName[m.role]),
            moderation.memberNotes(c, m, restrictions),
            (manage || m.accountId !== me.id) && h('div', { class: 'row member-actions' },
              m.canMessage && c.summary.kind !== 'direct' && h('button', { class: 'btn link small', type: 'button', onclick: () => openDirect(m.accountId).catch(hubNotice) }, 'Написать'),
              // An owner hands the chat on (before leaving it, say) to a teacher in it.
              handsOn && m.role !== 'owner' && m.verifiedTeacher && h('button', { class: 'btn link small', type: 'button', onclick: () => makeOwner(c, m) }, 'Сделать владельцем'),
              manage && moderation.memberActions(c, m, restrictions)));
        })),
        // Joining a chat is voluntary, and so is leaving one that was joined by hand or by link (not a chat the school's
        // roster keeps, nor a direct chat: blocking is the way there).
        leavable(c.summary) && !c.caseUntil && h('div', { class: 'row', style: 'margin-top:1rem' },
          h('button', { class: 'btn small', type: 'button', onclick: () => leaveChat(c) }, 'Покинуть чат')));
    } catch (e) {
      fill(c.side, h('p', { class: 'error' }, hubError(e).message));
    }
  }

  /** «Покинуть чат»: asked first; then the chat closes here (and on my other devices, through the membership push). */
  async function leaveChat(c) {
    const left = await formDialog({
      title: 'Покинуть чат?',
      text: `Вы больше не будете получать сообщения чата «${c.summary.title}». Вернуться можно по приглашению.`,
      submit: 'Покинуть',
      onSubmit: async () => { try { await client.invoke('LeaveChat', c.id); return true; } catch (e) { throw hubFail(e); } },
    });
    if (!left) return;
    if (current === c) closeChat();
    notice(`Вы вышли из чата «${c.summary.title}».`, { kind: 'info' });
    loadChats();
  }

  async function makeOwner(c, m) {
    const done = await formDialog({
      title: 'Сделать владельцем?',
      text: `${m.displayName} сможет управлять чатом «${c.summary.title}» наравне с вами: добавлять и удалять участников, назначать модераторов.`,
      submit: 'Сделать владельцем',
      onSubmit: async () => { try { await client.invoke('SetChatMemberRole', c.id, m.accountId, 'owner'); return true; } catch (e) { throw hubFail(e); } },
    });
    if (done && current === c) await renderInfo();
  }

  /**
   * «Добавить участников» of a subject or group chat: the school's people not in it yet, shown by group (a class's
   * pupils, a class's parents, the staff; the chat's own class first), ticked across groups and added at once.
   */
  async function addMembers(c) {
    let people, classes;
    try {
      [people, classes] = await Promise.all([api('GET', `/api/schools/${school.schoolId}/members`), schoolClasses()]);
    } catch (e) { hubNotice(e); return; }
    if (current !== c) return;
    const inChat = new Set(c.members.map(m => m.accountId));
    const candidates = people.filter(p => !inChat.has(p.accountId));
    const classOf = new Map(people.filter(p => p.classId).map(p => [p.accountId, p.classId]));
    const active = classes.filter(x => x.kind === 'class' && !x.archived).sort((a, b) => (b.id === c.summary.classId) - (a.id === c.summary.classId) || a.name.localeCompare(b.name, 'ru'));
    const groups = [
      ...active.flatMap(x => [
        { label: `${x.name} — ученики`, has: p => p.classId === x.id },
        { label: `${x.name} — родители`, has: p => p.children.some(ch => classOf.get(ch) === x.id) },
      ]),
      { label: 'Сотрудники', has: p => p.roles.some(r => r === 'teacher' || r === 'admin') },
    ].map(g => ({ ...g, people: candidates.filter(g.has) })).filter(g => g.people.length);
    if (!groups.length) { notice('Все люди школы уже в этом чате.', { kind: 'info' }); return; }
    const picked = new Set();
    const list = h('ul', { class: 'list-plain pick-list', 'aria-label': 'Кого добавить' });
    const groupSelect = h('select', { id: 'add-members-group', onchange: () => show(groups[Number(groupSelect.value)]) },
      groups.map((g, i) => h('option', { value: String(i) }, `${g.label} (${g.people.length})`)));
    const count = h('p', { class: 'muted', role: 'status' }, 'Выбрано: 0');
    const tick = (p, on) => { if (on) picked.add(p.accountId); else picked.delete(p.accountId); count.textContent = `Выбрано: ${picked.size}`; };
    function show(g) {
      const all = h('input', { type: 'checkbox', checked: g.people.every(p => picked.has(p.accountId)) });
      all.addEventListener('change', () => { for (const p of g.people) tick(p, all.checked); show(g); });
      fill(list, h('li', {}, h('label', {}, all, ' Выбрать всех')),
        g.people.sort((a, b) => a.displayName.localeCompare(b.displayName, 'ru')).map(p => {
          const box = h('input', { type: 'checkbox', checked: picked.has(p.accountId) });
          box.addEventListener('change', () => tick(p, box.checked));
          return h('li', {}, h('label', {}, box, ' ', p.displayName));
        }));
    }
    show(groups[0]);
    const added = await formDialog({
      title: 'Добавить участников: ' + c.summary.title,
      text: 'Отметьте, кого добавить в чат. Добавленные увидят его историю.',
      extra: h('div', {}, h('div', { class: 'field' }, h('label', { for: 'add-members-group' }, 'Показать'), groupSelect), list, count),
      submit: 'Добавить',
      onSubmit: async () => {
        if (!picked.size) throw new Error('Отметьте хотя бы одного человека.');
        try { return await client.invoke('AddChatMembers', c.id, [...picked]); } catch (e) { throw hubFail(e); }
      },
    });
    if (added === null || current !== c) return;
    notice(`Добавлено в чат: ${added}.`, { kind: 'info' });
    await renderInfo();
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

  /**
   * The first message after my read position (not mine): earlier pages are loaded until it is there (at most 10 more;
   * beyond that the line goes above the oldest loaded and «Загрузить более ранние» reaches the rest),
   * a «Новые сообщения» line goes above it and the list opens there. Nothing unread: the list stays at the newest.
   */
  async function showFirstUnread(c, readSeq) {
    const firstUnread = () => [...c.msgs.values()].filter(m => m.seq > readSeq && m.senderId !== me.id && m.kind !== 'system')
      .reduce((a, m) => (a && a.seq < m.seq ? a : m), null);
    if (!firstUnread() && !(c.oldest > readSeq + 1)) return;
    for (let i = 0; i < 10 && c.oldest && c.oldest > readSeq + 1 && current === c; i++) await loadEarlier();
    const first = firstUnread();
    const el = first && c.els.get(first.seq);
    if (!el || current !== c) return;
    c.list.querySelector('.unread-line')?.remove();
    const line = h('div', { class: 'unread-line', role: 'separator' }, 'Новые сообщения');
    c.list.insertBefore(line, el);
    // Only when the unread part does not fit below what is shown: then the line goes to the top.
    if (c.list.scrollHeight - line.offsetTop > c.list.clientHeight) c.list.scrollTop = line.offsetTop - 8;
    renderDown(c);
  }

  /** A message found by search: earlier pages are loaded until it is there (at most 20), then it is shown and focused. */
  async function showFound(c, seq) {
    for (let i = 0; i < 20 && !c.els.has(seq) && c.oldest && c.oldest > seq && current === c; i++) await loadEarlier();
    const el = c.els.get(seq);
    if (!el || current !== c) return;
    el.classList.add('found');
    el.tabIndex = -1;
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
  }

  function rerender(m) {
    const c = current;
    const old = c.els.get(m.seq);
    if (!old) return;
    const el = renderMessage(m);
    old.replaceWith(el);
    c.els.set(m.seq, el);
  }

  function putMessage(m, older = false) {
    const c = current;
    const had = c.msgs.get(m.seq);
    if (had && had.version > m.version) return;
    c.msgs.set(m.seq, m);
    persistChat(c);
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

  /**
   * My message not sent yet («Отправляется…»), or refused («Не отправлено: why» with «Повторить» and «Удалить»). Not
   * drawn when the chat shows it already (sent, and the confirmation was lost or is still on its way).
   */
  function renderPending(item) {
    const c = current;
    if (c.pendingEls.has(item.clientId) || [...c.msgs.values()].some(m => m.clientId === item.clientId && m.senderId === me.id)) return;
    const failed = item.failed;
    const el = h('article', { class: 'msg mine pending' + (failed ? ' failed' : ''), dataset: { clientId: item.clientId } },
      h('div', { class: 'text' }, item.text),
      h('div', { class: 'meta' }, failed ? 'Не отправлено: ' + failed.message : 'Отправляется…'),
      failed && h('div', { class: 'actions' },
        h('button', { class: 'btn small', type: 'button', onclick: () => { dropPending(item.clientId); renderPending({ ...item, failed: undefined }); client.retry(item.clientId); } }, 'Повторить'),
        h('button', { class: 'btn small', type: 'button', onclick: () => { dropPending(item.clientId); client.discard(item.clientId); } }, 'Удалить')));
    c.pendingEls.set(item.clientId, el);
    c.list.append(el);
    c.list.scrollTop = c.list.scrollHeight;
  }

  function dropPending(clientId) {
    const el = current?.pendingEls.get(clientId);
    if (el) { el.remove(); current.pendingEls.delete(clientId); }
  }

  /** The text with the names of mentioned members highlighted and UTC times (ISO 8601) in local time (text nodes only). */
  function richText(m) {
    const names = (m.mentions || []).map(id => current.members.find(x => x.accountId === id)?.displayName).filter(Boolean).map(n => '@' + n);
    const el = h('div', { class: 'text' });
    if (!names.length) { appendTimes(el, m.text || ''); return el; }
    const escaped = names.sort((a, b) => b.length - a.length).map(n => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const parts = m.text.split(new RegExp(`(${escaped.join('|')})`, 'g'));
    for (const p of parts) if (names.includes(p)) el.append(h('mark', { class: 'mention' }, p)); else appendTimes(el, p);
    return el;
  }

  // ---- the pinned message ----

  /** Who pins in the open chat: its owner and moderators, either person of a direct chat (as the server decides). */
  function mayPin(c) {
    return !c.caseUntil && !c.summary.archived && !c.restriction && (c.summary.kind === 'direct' || c.summary.role !== 'member');
  }

  /** The message pinned above the chat (null: none): the bar shows it, and «Закрепить»/«Открепить» under messages follow. */
  function setPinned(c, m) {
    const before = c.pinned?.seq;
    c.pinned = m && !m.deleted ? m : null;
    if (current !== c) return;
    renderPinned(c);
    for (const seq of new Set([before, c.pinned?.seq])) { const had = seq && c.msgs.get(seq); if (had) rerender(had); }
  }

  /** A change of a message that concerns the bar: pinned, unpinned, or the pinned one edited, reacted to or deleted. */
  function pinnedChanged(c, e) {
    if (e.type === 'pinned') setPinned(c, e.message);
    else if (c.pinned?.seq === e.message.seq) setPinned(c, e.type === 'unpinned' ? null : e.message);
  }

  function renderPinned(c) {
    const m = c.pinned;
    c.pinBar.hidden = !m;
    if (!m) { fill(c.pinBar); return; }
    const what = m.kind === 'poll' && m.poll ? '📊 ' + m.poll.question
      : m.kind === 'files' && !m.text ? '📎 ' + (m.files || []).map(f => f.name).join(', ')
      : m.text;
    fill(c.pinBar,
      h('button', { class: 'pinned-open', type: 'button', 'aria-label': 'Показать закреплённое сообщение', onclick: () => showFound(c, m.seq).catch(hubNotice) },
        h('span', { class: 'pinned-label' }, '📌 Закреплено'),
        h('span', { class: 'pinned-text' }, (m.senderName ? m.senderName + ': ' : '') + what)),
      mayPin(c) && h('button', { class: 'btn link small', type: 'button', 'aria-label': 'Открепить сообщение', onclick: () => pin(m, false) }, 'Открепить'));
  }

  async function pin(m, on) {
    try { await client.invoke('PinMessage', m.chatId, m.seq, on); } catch (e) { hubNotice(e); }
  }

  function renderMessage(m) {
    const mine = m.senderId === me.id;
    if (m.kind === 'system') return h('article', { class: 'msg system', dataset: { seq: m.seq } }, m.text);
    const c = current;
    const moderator = c.summary.role !== 'member';
    const canAct = c.summary.canPost && !c.restriction;
    const replied = m.replyToSeq ? c.msgs.get(m.replyToSeq) : null;
    const reactions = h('div', { class: 'reactions' }, (m.reactions || []).map(r => h('button', {
      class: 'reaction', type: 'button', 'aria-pressed': String(r.by.includes(me.id)), 'aria-label': `${r.emoji} ${r.count}`,
      onclick: () => react(m, r.emoji, !r.by.includes(me.id)),
    }, `${r.emoji} ${r.count}`)));
    const actions = m.deleted ? null : h('div', { class: 'actions' },
      canAct && h('button', { class: 'btn link small', type: 'button', onclick: () => startReply(m) }, 'Ответить'),
      h('button', { class: 'btn link small', type: 'button', 'aria-haspopup': 'true', onclick: ev => pickReaction(ev.currentTarget, m) }, 'Реакция'),
      // A forward shows someone else's words under their name: not mine to change (the server refuses it too).
      mine && m.kind === 'text' && !m.forwardedFrom && h('button', { class: 'btn link small', type: 'button', onclick: () => startEdit(m) }, 'Изменить'),
      mine && h('button', { class: 'btn link small', type: 'button', onclick: () => remove(m) }, 'Удалить'),
      messageMore.buttons(m),
      m.kind !== 'system' && mayPin(c) && h('button', { class: 'btn link small', type: 'button', onclick: () => pin(m, c.pinned?.seq !== m.seq) },
        c.pinned?.seq === m.seq ? 'Открепить' : 'Закрепить'),
      moderation.messageActions(m, moderator));
    let body;
    if (m.deleted) body = h('div', { class: 'text deleted' }, 'Сообщение удалено');
    else if (m.kind === 'poll' && m.poll) body = pollBody(m);
    else if (m.kind === 'files') body = [m.text && richText(m), renderFiles(m.files || [])];
    else body = richText(m);
    const mentionsMe = m.mentions?.includes(me.id);
    return h('article', { class: 'msg' + (mine ? ' mine' : '') + (mentionsMe ? ' mentions-me' : '') + (m.kind === 'poll' ? ' poll-msg' : ''), dataset: { seq: m.seq }, 'aria-label': `${m.senderName || ''}, ${time(m.createdAt)}` },
      !mine && h('div', { class: 'who' }, m.senderName),
      messageMore.forwardedMark(m),
      replied && h('div', { class: 'quote' }, (replied.senderName || '') + ': ' + (replied.deleted ? 'сообщение удалено' : replied.text)),
      body,
      h('div', { class: 'meta' }, m.editedAt && !m.deleted ? 'изменено · ' : '', time(m.createdAt), ticks.mark(m)),
      reactions, actions);
  }

  /**
   * After a reconnect: the open chat's polls are read again (votes are not chat events: those cast while the connection
   * was down came as PollUpdated pushes it missed; a poll may have closed meanwhile).
   */
  function rereadPolls(c) {
    for (const m of c.msgs.values()) {
      if (m.kind !== 'poll' || m.deleted) continue;
      client.invoke('GetPoll', c.id, m.seq).then(p => {
        if (current !== c) return;
        c.myVotes.set(m.seq, p.myOptionIds || null);
        const now = c.msgs.get(m.seq);
        if (now?.poll && !(now.poll.closedAt && !p.closedAt)) { now.poll = { ...p, myOptionIds: undefined }; rerender(now); }
      }, () => {});
    }
  }

  function pollBody(m) {
    const c = current;
    let mine = c.myVotes.get(m.seq);
    if (mine === undefined && !c.asked.has(m.seq)) {
      // Messages carry everyone's view; my own choice comes from GetPoll once.
      c.asked.add(m.seq);
      client.invoke('GetPoll', m.chatId, m.seq).then(p => {
        if (current !== c) return;
        c.myVotes.set(m.seq, p.myOptionIds || null);
        const now = c.msgs.get(m.seq);
        if (now?.poll && !(now.poll.closedAt && !p.closedAt)) now.poll = { ...p, myOptionIds: undefined };
        if (now) rerender(now);
      }, () => {});
    }
    c.pollDrafts ||= new Map();
    const apply = p => {
      c.pollDrafts.delete(m.seq);
      c.myVotes.set(m.seq, p.myOptionIds || null);
      const now = c.msgs.get(m.seq);
      if (now) { now.poll = p; rerender(now); }
    };
    const call = async (method, ...args) => { try { apply(await client.invoke(method, m.chatId, m.seq, ...args)); } catch (e) { throw hubFail(e); } };
    return renderPoll(m.poll, mine, {
      vote: ids => call('Vote', ids),
      retract: () => call('RetractVote'),
      close: () => call('ClosePoll'),
      canClose: m.senderId === me.id || c.summary.role !== 'member',
      draft: c.pollDrafts.get(m.seq),
      onDraft: ids => c.pollDrafts.set(m.seq, ids),
    });
  }

  async function newPoll() {
    const c = current;
    // One id for the dialog: «Создать опрос» pressed again after a lost answer gets the poll stored the first time, not a second one.
    const clientId = newId();
    await pollDialog(async p => {
      try {
        const m = await client.invoke('CreatePoll', { chatId: c.id, clientId, ...p });
        if (current === c) client.receive(m.chatId, m.seq, () => onMessage(m));
        return m;
      } catch (e) { throw hubFail(e); }
    });
  }

  /**
   * A file the server refused for what it is (its type, a limit, the school's quota: a 4xx with the server's code), not
   * lost on the way (no network, a timeout, the server busy, the session ended).
   */
  const refusal = e => e instanceof ApiError && e.status >= 400 && e.status < 500 && ![401, 408, 429].includes(e.status);

  /** Whether a file goes in resumable chunks: over 1 MB (a phone's photo of the homework is 3–8 MB), or two chunks. */
  const resumableSize = f => f.size > Math.min(RESUMABLE_FROM, 2 * uploadChunkBytes());

  /**
   * Uploads one file of the tray: in one request, or (resumable: see sendFiles) in resumable chunks that wait out a lost
   * connection, saying so in place of the percentage — on 3G a drop goes on from the server's offset by itself instead
   * of starting again from zero on «Повторить».
   */
  function uploadOne(r, onStarted, resumable) {
    let waiting = false;
    const progress = x => {
      r.bar.value = x;
      if (!waiting) r.state.textContent = Math.round(x * 100) + '%';
    };
    if (!resumable) return upload(school.schoolId, r.f, progress, newId());
    return uploadResumable(school.schoolId, r.f, progress, now => {
      waiting = now;
      r.el.classList.toggle('waiting', now);
      r.state.textContent = now ? 'Нет связи — продолжим, когда сеть вернётся…' : Math.round(r.bar.value * 100) + '%';
    }, { uploadId: r.uploadId, newUploadId: newId(), onStarted });
  }

  /**
   * Files chosen at once (fourteen photos of a school trip) go out as messages of at most FILES_PER_MESSAGE (the
   * server's Files:MaxFilesPerMessage) rather than all uploaded and then refused, one after another so that they
   * appear in the order chosen. The first carries the caption and the reply (taken from the composer when it starts);
   * the rest carry none, whatever is typed meanwhile.
   */
  function sendChosen(files) {
    const groups = [];
    for (let i = 0; i < files.length; i += FILES_PER_MESSAGE) groups.push(files.slice(i, i + FILES_PER_MESSAGE));
    groups.reduce((before, group, i) => before.then(() => sendFiles(group, undefined, undefined, i > 0)), Promise.resolve());
  }

  /**
   * Uploads the chosen files (progress shown), then posts them in one message with the typed text as caption. A
   * resumable upload is kept in IndexedDB (kept-uploads.js) with the caption typed so far until it is posted or
   * refused, so that after a reload the chat offers to continue it. resumed: the kept uploads of one message
   * ({ caption, replyToSeq, messageKey, uploads: [kept upload] }), the unfinished ones continued from the server's offset,
   * then all posted together under the message's key with its own caption (the finished ones are in `uploaded`). uploaded: files of an earlier try that reached the server
   * (file -> its id), not uploaded again by «Повторить». bare: no caption nor reply (the later messages of sendChosen).
   * A file the server refuses (its type, a limit, the quota: a 4xx with the server's code) stops only itself: its row
   * says why, naming it, the other files go on and are posted (with the caption); only when every file is refused is
   * nothing posted. A file lost on the way (no network, the server busy) fails the whole message, with «Повторить».
   */
  async function sendFiles(files, resumed, uploaded = new Map(), bare = false) {
    const c = current;
    if (!files.length) return;
    // The caption and the reply are what the composer holds now, not when the upload ends: on a slow connection the
    // composer is used meanwhile (the next message, an edit), and must not be posted as this file's caption. While
    // editing a message the composer holds the edit, not a caption.
    const caption = resumed ? resumed.caption : (bare || c.editing ? '' : c.input.value.trim());
    const replyToSeq = resumed ? resumed.replyToSeq : bare || c.editing ? undefined : c.replyTo?.seq;
    if (!resumed && !bare && !c.editing) {
      if (caption) c.input.value = '';
      clearBar();
      noteDraft(c);
    }
    let finished;
    const done = new Promise(resolve => { finished = resolve; });
    // The message's client id, kept with each of its resumable uploads: a page reloaded after they all reached the server
    // posts them with it (offerKeptUploads), which the server takes for this message again if it was posted after all.
    // A continued upload is posted alone, under its own upload id for the same reason.
    const messageKey = resumed ? resumed.messageKey : newId();
    const kept = resumed ? resumed.uploads.map(u => u.uploadId) : [];
    for (const id of kept) holdUpload(id, done);
    const resumedIds = new Map(resumed?.uploads.map(u => [u.file, u.uploadId]));
    const keep = r => uploadId => {
      kept.push(uploadId);
      r.uploadId = uploadId;
      holdUpload(uploadId, done);
      return keepUpload({ uploadId, accountId: me.id, schoolId: school.schoolId, chatId: c.id, caption, replyToSeq, messageKey, file: r.f });
    };
    const rows = files.map(f => {
      const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Загрузка ' + f.name });
      const state = h('span', { class: 'muted' }, size(f.size));
      return { f, bar, state, uploadId: resumedIds.get(f), el: h('div', { class: 'upload' }, h('span', { class: 'file-name' }, f.name), bar, state) };
    });
    const tray = h('div', { class: 'upload-tray' }, rows.map(r => r.el));
    c.uploads.append(tray);
    const ids = [];
    const refused = new Set(); // files the server refused: not sent again by «Повторить»
    const close = () => h('button', { class: 'btn small', type: 'button', onclick: () => tray.remove() }, 'Закрыть');
    // A message's files go all resumable or none: all of them are then kept for after a reload, so the chat offers the
    // whole message again, not a photo without the screenshot that went with it.
    const resumable = !!resumed || files.some(resumableSize);
    try {
      for (const r of rows) {
        if (!uploaded.has(r.f)) {
          try {
            uploaded.set(r.f, (await uploadOne(r, keep(r), resumable)).id);
          } catch (e) {
            if (!refusal(e)) throw e;
            // Refused by the server (its type, a limit, the quota): this file only; the others go on.
            refused.add(r.f);
            r.el.classList.add('refused');
            r.el.replaceChildren(h('span', { class: 'error', role: 'alert' }, `Файл «${r.f.name}» не отправлен: ${e.display}`));
            if (r.uploadId) {
              // Not to be continued from this page: the server lets it go too (one refused for the quota is kept there,
              // holding its room among the school's unfinished uploads for a day, for a client that would continue it).
              dropUpload(r.uploadId);
              api('DELETE', `/api/schools/${school.schoolId}/uploads/${r.uploadId}`).catch(() => {});
            }
            continue;
          }
        }
        r.bar.value = 1;
        r.state.textContent = 'загружено';
        ids.push(uploaded.get(r.f));
      }
      if (!ids.length) {
        // Every file refused: nothing to post; the caption is the user's again, the rows say why.
        giveBackCaption();
        tray.append(close());
        return finishFiles();
      }
      const m = await postFiles({ chatId: c.id, clientId: messageKey, fileIds: ids, caption: caption || undefined, replyToSeq }, tray);
      if (!m) { tray.remove(); return finishFiles(); } // given up with «Отменить»: the files stay unposted on the server
      // Posted with the files that were accepted: only the refused ones stay in the tray, each saying why.
      if (refused.size) {
        for (const r of rows) if (!refused.has(r.f)) r.el.remove();
        tray.append(close());
      } else {
        tray.remove();
      }
      if (current === c) client.receive(m.chatId, m.seq, () => onMessage(m));
    } catch (e) {
      giveBackCaption();
      // Lost on the way (no network, the server busy): the files are still in the page — a voice note cannot be chosen
      // again — so «Повторить» sends them anew (with the caption the composer holds then), but those the server
      // refused. A refusal has no retry.
      const retryable = e.status !== undefined ? e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500
        : ['network', 'service_unavailable'].includes(hubError(e).code);
      const again = files.filter(f => !refused.has(f));
      tray.append(h('p', { class: 'error', role: 'alert' }, 'Файл не отправлен: ' + (e.display || hubError(e).message)),
        retryable && !resumed && again.length > 0 && h('button', { class: 'btn small', type: 'button', onclick: () => { tray.remove(); if (current === c) sendFiles(again, undefined, uploaded, bare); } }, 'Повторить'),
        close());
    }
    finishFiles();

    function giveBackCaption() {
      // Not posted: the caption is the user's again (a draft of its chat, also when another chat is open by now).
      if (caption && !resumed && !(current === c ? c.input.value : drafts.get(c.id))) {
        if (current === c) c.input.value = caption;
        noteDraft(c, caption);
      }
    }

    function finishFiles() {
      for (const id of kept) dropUpload(id); // posted or refused: nothing to continue after a reload
      finished();
    }
  }

  /**
   * Posts uploaded files (SendFiles). While the connection is lost or the server is busy it tries again with the same
   * clientId — the server posts a message once per clientId — so files that finished uploading are not lost to a
   * reconnect; the tray says so and offers «Отменить». Resolves to the message, or null when given up.
   */
  async function postFiles(request, tray) {
    let waiting = null;
    let cancelled = false;
    for (;;) {
      try {
        const m = await client.invoke('SendFiles', request);
        waiting?.remove();
        return m;
      } catch (e) {
        const code = hubError(e).code;
        if (code !== 'network' && code !== 'service_unavailable' && code !== 'slow_mode') throw e;
        if (!waiting) {
          waiting = h('p', { class: 'muted waiting-post', role: 'status' },
            code === 'slow_mode' ? 'Медленный режим: отправим, когда будет можно… ' : 'Нет связи — отправим, когда сеть вернётся… ',
            h('button', { class: 'btn small', type: 'button', onclick: () => { cancelled = true; tray.remove(); } }, 'Отменить'));
          tray.append(waiting);
        }
        await new Promise(resolve => setTimeout(resolve, code === 'slow_mode' ? 5000 : 2000));
        if (cancelled) return null;
      }
    }
  }

  async function readable(file) {
    try { await file.slice(0, 1).arrayBuffer(); return true; } catch { return false; }
  }

  /**
   * The chat's uploads kept from a page that was reloaded or closed mid-upload: «Продолжить загрузку «name» (42 %)»
   * (from the server's offset) or «Отменить». One the server no longer has (expired, cancelled) is dropped quietly;
   * without a connection the offer waits for the next time. Uploads the server has whole whose message was not posted
   * (the tab was closed between the last byte and the post): «Отправить …», the files of one message together, under
   * the message's client id — a message that did go out is not posted twice.
   */
  async function offerKeptUploads(c) {
    const complete = new Map(); // messageKey -> [{ kept upload, file id }]
    const partial = new Map(); // messageKey -> [{ kept upload, the server's offset }]
    const busy = new Set(); // messages with an upload still being sent (left and came back, or another tab)
    for (const u of await keptUploads(me.id, school.schoolId, c.id)) {
      const key = u.messageKey || u.uploadId; // kept before message keys: alone, under its upload id
      if (await uploadInFlight(u.uploadId)) { busy.add(key); continue; }
      const url = `/api/schools/${school.schoolId}/uploads/${u.uploadId}`;
      let state;
      try {
        state = await api('GET', url);
      } catch (e) {
        if (e.status >= 400 && e.status < 500 && e.status !== 408) dropUpload(u.uploadId);
        continue;
      }
      if (state.file) {
        complete.set(key, [...(complete.get(key) || []), { u, fileId: state.file.id }]);
        continue;
      }
      // The browser keeps a chosen file by reference: changed or deleted on the disk meanwhile, it can no longer be read.
      if (!await readable(u.file)) { dropUpload(u.uploadId); api('DELETE', url).catch(() => {}); continue; }
      partial.set(key, [...(partial.get(key) || []), { u, offset: state.offset }]);
    }
    for (const key of busy) { complete.delete(key); partial.delete(key); }
    // A message with a file still half-sent: one offer for the whole message — its unfinished files continued from the
    // server's offsets, then posted with the finished ones, once, under the message's key (before, each file was offered
    // and posted on its own: a photo without the screenshot that went with it, the caption twice).
    for (const [key, rest] of partial) {
      if (current !== c) return;
      const done = complete.get(key) || [];
      complete.delete(key);
      const all = [...done.map(x => x.u), ...rest.map(x => x.u)];
      const names = all.map(u => `«${u.file.name}»`).join(', ');
      const size = all.reduce((a, u) => a + u.file.size, 0);
      const sent = done.reduce((a, x) => a + x.u.file.size, 0) + rest.reduce((a, x) => a + x.offset, 0);
      const close = () => { row.remove(); if (!c.composer.hidden) c.input.focus(); };
      const row = h('div', { class: 'upload kept-upload row', role: 'group', 'aria-label': `Незавершённая загрузка ${names}` },
        h('button', {
          class: 'btn small primary', type: 'button',
          onclick: () => {
            close();
            const { caption, replyToSeq } = all[0];
            sendFiles(all.map(u => u.file), { caption, replyToSeq, messageKey: key, uploads: all }, new Map(done.map(x => [x.u.file, x.fileId])));
          },
        }, `Продолжить загрузку ${names} (${Math.floor(sent / size * 100)} %)`),
        h('button', {
          class: 'btn small', type: 'button', 'aria-label': `Отменить загрузку ${names}`,
          onclick: () => {
            close();
            for (const u of all) dropUpload(u.uploadId);
            for (const x of rest) api('DELETE', `/api/schools/${school.schoolId}/uploads/${x.u.uploadId}`).catch(() => {});
          },
        }, 'Отменить'));
      c.uploads.append(row);
    }
    for (const [key, files] of complete) {
      if (current !== c) return;
      // Posted after all (only its answer was lost, and the message came with the chat): nothing to offer.
      if ([...c.msgs.values()].some(m => m.clientId === key && m.senderId === me.id)) { for (const x of files) dropUpload(x.u.uploadId); continue; }
      const names = files.map(x => `«${x.u.file.name}»`).join(', ');
      const forget = () => { row.remove(); for (const x of files) dropUpload(x.u.uploadId); };
      const row = h('div', { class: 'upload kept-upload row', role: 'group', 'aria-label': `Загружено, но не отправлено: ${names}` },
        h('button', {
          class: 'btn small primary', type: 'button',
          onclick: async e => {
            const button = e.currentTarget;
            button.disabled = true;
            const { caption, replyToSeq } = files[0].u;
            try {
              const m = await client.invoke('SendFiles', { chatId: c.id, clientId: key, fileIds: files.map(x => x.fileId), caption: caption || undefined, replyToSeq });
              forget();
              if (current === c) client.receive(m.chatId, m.seq, () => onMessage(m));
            } catch (err) {
              button.disabled = false;
              row.querySelector('.error')?.remove();
              row.append(h('p', { class: 'error', role: 'alert' }, 'Не отправлено: ' + hubError(err).message));
            }
          },
        }, `Отправить ${names}`),
        h('button', { class: 'btn small', type: 'button', 'aria-label': `Не отправлять ${names}`, onclick: forget }, 'Не отправлять'));
      c.uploads.append(row);
    }
  }

  // ---- mentions in the composer ----

  function mentionQuery() {
    const c = current;
    const before = c.input.value.slice(0, c.input.selectionStart);
    const m = /(^|\s)@([^\s@]{0,30})$/u.exec(before);
    return m ? { query: m[2].toLowerCase(), start: before.length - m[2].length - 1 } : null;
  }

  function updateMentions() {
    const c = current;
    const q = mentionQuery();
    const found = q ? c.members.filter(m => m.accountId !== me.id && m.displayName.toLowerCase().split(/\s+/).some(w => w.startsWith(q.query))).slice(0, 6) : [];
    c.mentionList.hidden = found.length === 0;
    c.mentionIndex = 0;
    fill(c.mentionList, ...found.map((m, i) => h('li', {
      role: 'option', id: 'mention-' + i, 'aria-selected': String(i === 0), class: 'mention-option',
      onmousedown: ev => { ev.preventDefault(); insertMention(m); },
    }, m.displayName)));
    c.mentionFound = found;
    if (found.length) c.input.setAttribute('aria-activedescendant', 'mention-0'); else c.input.removeAttribute('aria-activedescendant');
  }

  function mentionKey(ev) {
    const c = current;
    const n = c.mentionFound.length;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      c.mentionIndex = (c.mentionIndex + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      [...c.mentionList.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === c.mentionIndex)));
      c.input.setAttribute('aria-activedescendant', 'mention-' + c.mentionIndex);
      ev.preventDefault();
      return true;
    }
    if (ev.key === 'Enter' || ev.key === 'Tab') { ev.preventDefault(); insertMention(c.mentionFound[c.mentionIndex]); return true; }
    if (ev.key === 'Escape') { c.mentionList.hidden = true; ev.preventDefault(); return true; }
    return false;
  }

  function insertMention(member) {
    const c = current;
    const q = mentionQuery();
    if (!q) return;
    const v = c.input.value;
    const insert = '@' + member.displayName + ' ';
    c.input.value = v.slice(0, q.start) + insert + v.slice(c.input.selectionStart);
    const caret = q.start + insert.length;
    c.input.setSelectionRange(caret, caret);
    c.mentionList.hidden = true;
    c.input.removeAttribute('aria-activedescendant');
    c.input.focus();
  }

  function mentionsIn(text) {
    return current.members.filter(m => m.accountId !== me.id && text.includes('@' + m.displayName)).map(m => m.accountId);
  }

  // ---- actions on messages ----

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
    try { putMessage(await client.invoke('React', m.chatId, m.seq, emoji, add)); } catch (e) { hubNotice(e); }
  }

  /** Deletes my message after a confirmation in the dialog (a refusal is shown there). */
  async function remove(m) {
    await formDialog({
      title: 'Удалить сообщение?',
      text: 'Сообщение удалится у всех участников чата.',
      submit: 'Удалить',
      onSubmit: async () => { try { putMessage(await client.invoke('DeleteMessage', m.chatId, m.seq)); } catch (e) { throw hubFail(e); } },
    });
  }

  function startReply(m) {
    current.replyTo = m; current.editing = null;
    showBar('Ответ: ' + (m.senderName || '') + ': ' + (m.text || preview(m)));
  }

  function startEdit(m) {
    if (!current.editing) current.draftBeforeEdit = current.input.value; // comes back when the edit ends
    current.editing = m; current.replyTo = null;
    current.input.value = m.text;
    showBar('Изменение сообщения');
  }

  function showBar(text) {
    const c = current;
    c.bar.hidden = false;
    fill(c.bar, h('span', {}, text), h('button', { class: 'btn link small', type: 'button', onclick: clearBar, 'aria-label': 'Отменить' }, 'Отмена'));
    c.input.focus();
  }

  function clearBar() {
    const c = current;
    if (!c) return;
    if (c.editing) { c.input.value = c.draftBeforeEdit ?? ''; c.draftBeforeEdit = undefined; }
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
        clearBar(); // the draft typed before the edit comes back
      } catch (e) { hubNotice(e); }
      return;
    }
    client.send(c.id, text, c.replyTo?.seq, mentionsIn(text));
    c.input.value = '';
    noteDraft(c);
    c.mentionList.hidden = true;
    clearBar();
    c.input.focus();
  }

  // Per chat: switching to another chat within the delay still marks what was read in this one.
  function scheduleRead() {
    const c = current;
    if (!c || c.caseUntil || c.positioning) return; // the admin of a moderation case has no read position there
    // What is on the screen now: the chat may be left (its list gone from the page) before the delay is over.
    if (!document.hidden) c.seen = Math.max(c.seen || 0, seenUpTo(c));
    clearTimeout(c.readTimer);
    c.readTimer = setTimeout(async () => {
      if (document.hidden || c.msgs.size === 0) return;
      if (c.list.isConnected) c.seen = Math.max(c.seen || 0, seenUpTo(c));
      const max = c.seen || 0;
      if (max <= (c.readSent || c.summary.readSeq || 0)) return;
      c.readSent = max;
      try { await client.invoke('MarkRead', c.id, max); } catch { c.readSent = 0; return; }
      // Read here while the tab was hidden (messages counted as unread meanwhile): the count and the notification go.
      // Read only part of the way (the rest is below what was shown): my read position's push has the server count it.
      const s = summaryOf(c.id);
      notifier.read(c.id);
      if (s?.unreadCount && current === c && max >= newestMessageSeq(c)) { s.unreadCount = 0; s.mentionCount = 0; renderList(); }
    }, 300);
  }

  /**
   * The newest message that has been on the screen: the highest seq whose top is above the list's bottom edge. A chat
   * opened at its first unread message is read as far as it is scrolled, not to its end.
   */
  function seenUpTo(c) {
    const bottom = c.list.getBoundingClientRect().bottom;
    const seqs = [...c.els.keys()].sort((a, b) => b - a);
    for (const seq of seqs) {
      const el = c.els.get(seq);
      if (el.isConnected && el.getBoundingClientRect().top < bottom) return seq;
    }
    return 0;
  }

  /** Scrolled up from the newest messages: «↓ К новым» (with how many unread are below) takes the list back down. */
  function renderDown(c) {
    const away = c.list.scrollHeight - c.list.scrollTop - c.list.clientHeight > 80;
    c.down.hidden = !away;
    if (!away) return;
    const seen = Math.max(c.readSent || 0, c.summary.readSeq || 0, seenUpTo(c));
    const below = [...c.msgs.values()].filter(m => m.seq > seen && m.senderId !== me.id && m.kind !== 'system').length;
    fill(c.down, '↓ К новым', below > 0 && h('span', { class: 'badge' }, String(below)));
  }
  // Back in the tab: read what arrived meanwhile. Removed once this screen is left (its client is gone or replaced).
  const screenClient = client;
  const onVisible = () => {
    if (client !== screenClient) { document.removeEventListener('visibilitychange', onVisible); return; }
    if (!document.hidden) scheduleRead();
  };
  document.addEventListener('visibilitychange', onVisible);

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
