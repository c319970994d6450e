// Read ticks on my own messages: «✓» stored by the server, «✓✓» read by at least one other member. Only in chats of
// up to 50 members (the server's ReadReceiptsLimit), where GetChat gives the other members' furthest read position
// (`othersReadSeq`) and every member's ReadPosition is pushed to the chat; bigger chats show «✓» alone. One position
// per open chat: a push that moves it forward changes only the marks of my messages it newly covers.

import { h } from './dom.js';

/** ctx: { invoke(method, ...args) over the hub, me, current() (the open chat: { id, list, othersRead, receipts }) }. */
export function readTicks(ctx) {
  const { me } = ctx;

  /** The mark under one of my messages (none for others' messages and deleted ones). */
  function mark(m) {
    const c = ctx.current();
    if (m.senderId !== me.id || m.deleted || m.kind === 'system') return null;
    const read = !!c.receipts && m.seq <= (c.othersRead || 0);
    const label = read ? 'Прочитано' : 'Доставлено';
    return h('span', { class: 'tick' + (read ? ' read' : ''), role: 'img', 'aria-label': label, title: label }, read ? '✓✓' : '✓');
  }

  /** What GetChat said when the chat was opened (or again after a reconnect): null means a chat above the limit. */
  function opened(c, othersReadSeq) {
    c.receipts = othersReadSeq !== null && othersReadSeq !== undefined;
    advance(c, othersReadSeq || 0);
  }

  /** A ReadPosition push: another member's position in the open chat moves the ticks; mine and other chats do not. */
  function position(p) {
    const c = ctx.current();
    if (c?.id === p.chatId && p.accountId !== me.id) advance(c, p.seq);
  }

  /** After a reconnect pushes may have been missed: the position is read again. */
  async function reload(c) {
    try {
      const details = await ctx.invoke('GetChat', c.id);
      if (ctx.current() === c) opened(c, details.othersReadSeq);
    } catch { /* the next push or opening the chat again brings it */ }
  }

  function advance(c, seq) {
    if (seq <= (c.othersRead || 0)) return;
    c.othersRead = seq;
    if (!c.receipts || !c.list) return;
    // Only marks still «✓» can change; those of messages the position now covers become «✓✓».
    for (const el of c.list.querySelectorAll('.msg.mine .tick:not(.read)')) {
      const m = c.msgs.get(Number(el.closest('.msg').dataset.seq));
      if (m && m.seq <= seq) el.replaceWith(mark(m));
    }
  }

  return { mark, opened, position, reload };
}
