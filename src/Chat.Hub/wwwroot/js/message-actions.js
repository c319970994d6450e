// Forwarding a message into another of my chats («Переслать», hub ForwardMessage) and, on my own messages in group
// chats, who has read it («Кто прочитал», hub GetReadBy). The server decides what may be forwarded (text messages and
// messages of files that are not deleted, from a chat I am in, into a chat where I may post) and what the copy says of its origin
// (`forwardedFrom`: the author's name, the source chat's title unless it is a direct chat, the original time).

import { hubError, hubFail, newId } from './hub.js';
import { h, fill, time, plural } from './dom.js';
import { formDialog, notice, viewDialog } from './dialog.js';

/** Chats up to this size get the readers' names from GetReadBy (the server's ReadReceiptsLimit); bigger ones a count. */
const READ_NAMES_LIMIT = 50;

let counter = 0;

/** ctx: { invoke(method, ...args) over the hub, me, current() (the open chat), chats() (my chats of the school), kindName(kind) }. */
export function messageActions(ctx) {
  const { me } = ctx;

  /** «Переслать» and «Кто прочитал» under a message (none for deleted or system messages). */
  function buttons(m) {
    const c = ctx.current();
    if (m.deleted || m.kind === 'system') return [];
    return [
      (m.kind === 'text' || m.kind === 'files') && h('button', { class: 'btn link small', type: 'button', onclick: () => forward(m) }, 'Переслать'),
      m.senderId === me.id && c.summary.kind !== 'direct' && h('button', { class: 'btn link small', type: 'button', onclick: () => readBy(m) }, 'Кто прочитал'),
    ];
  }

  /** «Переслано из «чат» · автор» above a forwarded message: what the server put in `forwardedFrom`, nothing more. */
  function forwardedMark(m) {
    const from = m.forwardedFrom;
    if (!from) return null;
    const text = 'Переслано' + (from.chatTitle ? ` из «${from.chatTitle}»` : '') + (from.senderName ? ` · ${from.senderName}` : '');
    return h('div', { class: 'forwarded', title: from.at ? 'Написано в ' + time(from.at) : null }, text);
  }

  /**
   * The dialog: my chats of the school where I may post (the open one left out), a filter for long lists, one to
   * choose. A refusal (the chat became read-only, I am muted there…) is shown in the dialog, which stays open with the
   * choice kept. Each target keeps its clientId, so a retry after a lost answer is not posted twice.
   */
  async function forward(m) {
    const c = ctx.current();
    const targets = ctx.chats().filter(x => x.canPost && x.id !== c.id);
    const id = 'fwd' + ++counter;
    const clientIds = new Map();
    const radios = targets.map(t => h('label', { class: 'forward-target', dataset: { chatId: t.id } },
      h('input', { type: 'radio', name: id, value: t.id }), ' ', t.title, h('span', { class: 'muted' }, ' · ' + ctx.kindName(t.kind))));
    const none = h('p', { class: 'muted', hidden: targets.length > 0 }, targets.length ? 'Ничего не найдено' : 'Нет чатов, куда вы можете написать.');
    const filter = h('input', {
      id: id + '-filter', type: 'search', autocomplete: 'off',
      oninput: () => {
        const q = filter.value.trim().toLowerCase();
        for (const [i, t] of targets.entries()) radios[i].hidden = !!q && !t.title.toLowerCase().includes(q);
        none.hidden = radios.some(r => !r.hidden);
      },
    });
    const extra = h('div', { class: 'forward-picker' },
      h('div', { class: 'field' }, h('label', { for: filter.id }, 'Найти чат'), filter),
      h('fieldset', { class: 'forward-targets' }, h('legend', {}, 'Куда переслать'), radios, none));
    const snippet = m.text.length > 120 ? m.text.slice(0, 120) + '…' : m.text;
    await formDialog({
      title: 'Переслать сообщение',
      text: `${m.senderName || ''}: «${snippet}»`,
      extra,
      submit: 'Переслать',
      onSubmit: async () => {
        const visible = radios.filter(r => !r.hidden);
        const chosen = radios.find(r => r.querySelector('input').checked && !r.hidden) ?? (visible.length === 1 ? visible[0] : null);
        if (!chosen) throw new Error('Выберите чат, куда переслать сообщение.');
        const toChatId = chosen.dataset.chatId;
        if (!clientIds.has(toChatId)) clientIds.set(toChatId, newId());
        try {
          await ctx.invoke('ForwardMessage', { fromChatId: m.chatId, seq: m.seq, toChatId, clientId: clientIds.get(toChatId) });
        } catch (e) { throw hubFail(e); }
        notice(`Сообщение переслано в «${targets.find(t => t.id === toChatId)?.title}».`, { kind: 'info' });
        return true;
      },
    });
  }

  /** The open «Кто прочитал», if any: { chatId, seq, reader(accountId) } (readers pushed before the names came are queued). */
  let watching = null;

  /**
   * Who read my message: «Прочитали (N)» and «Не прочитали (M)» by name in chats of up to 50 members; in bigger ones
   * (a school channel) the server gives only how many, and so does the dialog. While it is open, a member whose pushed
   * read position reaches the message moves to «Прочитали» (the server pushes positions only in chats of up to 50).
   */
  async function readBy(m) {
    const c = ctx.current();
    const body = h('div', { class: 'read-by', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Загрузка…'));
    const early = [];
    const watch = { chatId: m.chatId, seq: m.seq, reader: id => early.push(id) };
    watching = watch;
    viewDialog('Кто прочитал', body).addEventListener('close', () => { if (watching === watch) watching = null; });
    try {
      const result = await ctx.invoke('GetReadBy', m.chatId, m.seq);
      const others = Math.max(0, c.summary.memberCount - 1);
      if (!result.accountIds) {
        fill(body,
          h('h3', {}, `Прочитали (${result.count})`),
          h('h3', {}, `Не прочитали (${Math.max(0, others - result.count)})`),
          h('p', { class: 'muted' }, `Имена видны в чатах до ${READ_NAMES_LIMIT} участников; в этом чате ${c.summary.memberCount} ${plural(c.summary.memberCount, 'участник', 'участника', 'участников')}.`));
        return;
      }
      const othersOf = async () => (await ctx.invoke('GetChatMembers', m.chatId)).filter(x => x.accountId !== me.id);
      let members = await othersOf();
      const read = new Set([...result.accountIds, ...early]);
      const section = (title, people) => [
        h('h3', {}, `${title} (${people.length})`),
        people.length ? h('ul', { class: 'list-plain', 'aria-label': title }, people.map(p => h('li', {}, p.displayName))) : h('p', { class: 'muted' }, 'Никого'),
      ];
      const show = () => fill(body, ...section('Прочитали', members.filter(x => read.has(x.accountId))), ...section('Не прочитали', members.filter(x => !read.has(x.accountId))));
      show();
      watch.reader = async id => {
        if (read.has(id)) return;
        read.add(id);
        // Someone who joined after the dialog was opened: the names are read again.
        if (!members.some(x => x.accountId === id)) members = await othersOf().catch(() => members);
        if (watching === watch) show();
      };
    } catch (e) {
      fill(body, h('p', { class: 'error', role: 'alert' }, hubError(e).message));
    }
  }

  /** A ReadPosition push: another member read as far as the message in the open «Кто прочитал». */
  function readPosition(p) {
    const w = watching;
    if (w && p.chatId === w.chatId && p.accountId !== me.id && p.seq >= w.seq) w.reader(p.accountId);
  }

  return { buttons, forwardedMark, readPosition };
}
