// Presence («в сети»): the server has no presence pushes, so the page asks GetPresence for the people it shows — the
// peers of the direct chats in the list and, while «О чате» is open, the chat's members — in calls of at most 500 ids,
// every ~45 s while the tab is visible (none while hidden; at once when it comes back, after a reconnect and when
// «О чате» opens). Nobody to ask about means no call at all. The marks are elements tagged `data-presence-id`: a
// refresh only shows or hides them, so nothing is re-rendered and the focus stays where it is.

import { h } from './dom.js';

const BATCH = 500; // the server's limit per call
const INTERVAL = 45_000;

/** The refresh interval; `localStorage['chat.presenceMs']` shortens it (the browser tests use a second). */
function interval() {
  const ms = Number(localStorage.getItem('chat.presenceMs'));
  return ms >= 500 ? ms : INTERVAL;
}

/** ctx: { invoke(method, ...args) over the hub, wanted() → the account ids the page shows now }. */
export function presenceWatch(ctx) {
  let online = new Set();
  let asked = new Set(); // the ids of the last refresh (answered or on its way)
  let generation = 0; // a slower, older answer never overwrites a newer one
  let timer = null;

  /** Asks for everyone the page shows now; with nobody to ask about, no call. */
  async function refresh() {
    const ids = [...new Set(ctx.wanted().filter(Boolean))];
    const mine = ++generation;
    if (!ids.length) { asked = new Set(); apply(new Set()); return; }
    const batches = [];
    for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
    asked = new Set(ids);
    let answers;
    try {
      answers = await Promise.all(batches.map(b => ctx.invoke('GetPresence', b)));
    } catch {
      if (mine === generation) asked = new Set(); // offline or reconnecting: the marks stay, the next update asks again
      return;
    }
    if (mine !== generation) return;
    apply(new Set(answers.flat()));
  }

  /** Someone new to show (a new direct chat, the members of «О чате»): asked at once; otherwise the timer's turn. */
  function update() {
    if (ctx.wanted().some(id => id && !asked.has(id))) refresh();
  }

  function apply(now) {
    online = now;
    for (const el of document.querySelectorAll('[data-presence-id]')) el.hidden = !online.has(el.dataset.presenceId);
  }

  /** A green dot labelled «в сети», hidden while the person is not online. */
  function dot(accountId) {
    return h('span', { class: 'presence-dot', role: 'img', 'aria-label': 'в сети', title: 'в сети', hidden: !online.has(accountId), dataset: { presenceId: accountId } });
  }

  /** The words «в сети» (the open direct chat's header), hidden while the person is not online. */
  function text(accountId) {
    return h('span', { class: 'presence-text', hidden: !online.has(accountId), dataset: { presenceId: accountId } }, 'в сети');
  }

  function tick() {
    clearInterval(timer);
    timer = null;
    if (document.hidden) return;
    timer = setInterval(refresh, interval());
  }

  function onVisibility() {
    tick();
    if (!document.hidden) refresh();
  }

  /** Starts the timer (the first answer comes with the chat list: `update`). */
  function start() {
    document.addEventListener('visibilitychange', onVisibility);
    tick();
  }

  function stop() {
    document.removeEventListener('visibilitychange', onVisibility);
    clearInterval(timer);
    timer = null;
    generation++;
  }

  /** After a reconnect the last answer may be stale: asked again at once. */
  function reconnected() {
    asked = new Set();
    refresh();
  }

  return { dot, text, refresh, update, reconnected, start, stop };
}
