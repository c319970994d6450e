// Moderation in the chat view: «Пожаловаться» for every member; for the chat's owners and moderators «Удалить по
// правилу» and «Нарушение» on a message, the report queue in «О чате», and per member violations, blocks, mutes (up
// to 24 hours) and removal from the chat. Every action cites one of the school's rules; the server decides who may do
// what and explains refusals in Russian.

import { hubFail, hubNotice, newId } from './hub.js';
import { h, dateTime, time } from './dom.js';
import { formDialog, notice } from './dialog.js';

/** ctx: { invoke(method, ...args) over the hub, me, school, current() (the open chat), putMessage(m), renderHead(), renderInfo() }. */
export function chatModeration(ctx) {
  const { me, school } = ctx;
  // Members of these chats are added by people (not by the school's roster), so a moderator may remove one.
  const REMOVABLE_KINDS = new Set(['subject', 'group']);
  const MUTE_TIMES = [{ value: '15', label: '15 минут' }, { value: '60', label: '1 час' }, { value: '180', label: '3 часа' }, { value: '1440', label: '24 часа' }];
  let rules = null; // the school's rules
  /** A button's action: what it could not do is said (once), never left as an error of the page. */
  const act = run => () => run().catch(e => { if (!e?.shown) hubNotice(e); });

  async function schoolRules() {
    try {
      if (!rules) rules = await ctx.invoke('GetRules', school.schoolId);
    } catch (e) {
      // Every moderation dialog cites a rule: without the list there is no dialog, and the person is told why.
      hubNotice(e);
      e.shown = true;
      throw e;
    }
    return rules;
  }

  async function ruleField() {
    const rs = await schoolRules();
    return { name: 'ruleId', label: 'Правило школы', type: 'select', required: true, options: rs.map(r => ({ value: r.id, label: `${r.number}. ${r.text}` })) };
  }

  /** The moderation buttons under someone else's message. */
  function messageActions(m, moderator) {
    if (m.senderId === me.id || !m.senderId) return [];
    const sender = { accountId: m.senderId, displayName: m.senderName };
    return moderator
      ? [h('button', { class: 'btn link small', type: 'button', onclick: act(() => moderateDelete(m)) }, 'Удалить по правилу'),
        h('button', { class: 'btn link small', type: 'button', onclick: act(() => recordViolation(sender, m.seq)) }, 'Нарушение')]
      : [h('button', { class: 'btn link small', type: 'button', onclick: act(() => report(m)) }, 'Пожаловаться')];
  }

  async function moderateDelete(m) {
    await formDialog({
      title: 'Удалить сообщение по правилу',
      text: `${m.senderName}: «${m.text}»`,
      fields: [await ruleField()],
      submit: 'Удалить',
      onSubmit: async v => { try { ctx.putMessage(await ctx.invoke('ModerateDelete', m.chatId, m.seq, v.ruleId)); } catch (e) { throw hubFail(e); } },
    });
  }

  async function report(m) {
    await formDialog({
      title: 'Пожаловаться на сообщение',
      text: `${m.senderName}: «${m.text}»`,
      fields: [await ruleField(), { name: 'comment', label: 'Комментарий для модератора', maxlength: 1000 }],
      submit: 'Отправить жалобу',
      onSubmit: async v => {
        try { await ctx.invoke('ReportMessage', { chatId: m.chatId, seq: m.seq, ruleId: v.ruleId, comment: v.comment.trim() || undefined }); } catch (e) { throw hubFail(e); }
        notice('Жалоба отправлена модераторам чата.', { kind: 'info' });
      },
    });
  }

  /** The open reports of the chat with their resolutions (for «О чате»). */
  function reportsBox(c, reports, nameOf) {
    return h('div', { class: 'reports-box' }, h('h3', { style: 'margin-top:1rem' }, `Жалобы (${reports.length})`),
      reports.length === 0 ? h('p', { class: 'muted' }, 'Новых жалоб нет.') : h('ul', { class: 'list-plain reports' }, reports.map(r => h('li', { class: 'report' },
        h('div', {}, h('strong', {}, nameOf(r.senderId)), `: «${r.messageText}»`),
        h('div', { class: 'muted' }, `Правило ${r.ruleNumber}`, r.comment ? ` · ${r.comment}` : ''),
        h('div', { class: 'row' },
          ['deleted', 'warned', 'dismissed'].map(res => h('button', {
            class: 'btn small', type: 'button',
            onclick: async () => { try { await ctx.invoke('ResolveReport', c.id, r.id, res); await ctx.renderInfo(); } catch (e) { hubNotice(e); } },
          }, { deleted: 'Удалить сообщение', warned: 'Предупредить', dismissed: 'Отклонить' }[res])))))));
  }

  /** A time today, or the date and time (a mute of up to 24 hours often ends tomorrow). */
  const todayOrDate = iso => (new Date(iso).toDateString() === new Date().toDateString() ? time(iso) : dateTime.format(new Date(iso)));

  /** What a moderator reads under a member's name: an active block or mute, the violations counted so far. */
  function memberNotes(c, m, restrictions) {
    const block = restrictions.find(r => r.accountId === m.accountId && r.kind === 'block');
    const mute = restrictions.find(r => r.accountId === m.accountId && r.kind === 'mute');
    const v = c.violations?.get(m.accountId);
    return [
      block && h('div', { class: 'restriction-note' }, `Заблокирован до ${dateTime.format(new Date(block.endsAt))} (правило ${block.ruleNumber})`),
      mute && h('div', { class: 'restriction-note' }, `Не может писать до ${todayOrDate(mute.endsAt)} (правило ${mute.ruleNumber})`),
      v && h('div', { class: 'muted', style: 'font-size:.8rem' }, `Нарушений: ${v.violations}${v.mayBeBlocked ? ' · можно заблокировать' : ''}`),
    ];
  }

  /** A moderator's buttons for a member (not for other moderators or owners: the server refuses those). */
  function memberActions(c, m, restrictions) {
    const block = restrictions.find(r => r.accountId === m.accountId && r.kind === 'block');
    const mute = restrictions.find(r => r.accountId === m.accountId && r.kind === 'mute');
    const lift = (method, label) => h('button', {
      class: 'btn link small', type: 'button',
      onclick: async () => { try { await ctx.invoke(method, c.id, m.accountId); await ctx.renderInfo(); } catch (e) { hubNotice(e); } },
    }, label);
    return [
      h('button', { class: 'btn link small', type: 'button', onclick: act(() => recordViolation(m)) }, 'Нарушение'),
      !block && !mute && h('button', { class: 'btn link small', type: 'button', onclick: act(() => muteMember(m)) }, 'Запретить писать'),
      mute && lift('UnmuteMember', 'Разрешить писать'),
      !block && h('button', { class: 'btn link small', type: 'button', onclick: act(() => blockMember(m)) }, 'Заблокировать'),
      block && lift('UnblockMember', 'Разблокировать'),
      REMOVABLE_KINDS.has(c.summary.kind) && h('button', { class: 'btn link small danger', type: 'button', onclick: act(() => removeMember(m)) }, 'Удалить из чата'),
    ];
  }

  /** A short mute (up to 24 hours, unlike a block it needs no earlier violations): the member reads but cannot write. */
  async function muteMember(member) {
    const c = ctx.current();
    await formDialog({
      title: 'Запретить писать: ' + member.displayName,
      text: 'Участник сможет читать чат, но не писать, до конца срока. Он увидит правило и причину.',
      fields: [await ruleField(),
        { name: 'minutes', label: 'На сколько', type: 'select', required: true, options: MUTE_TIMES, value: '60' },
        { name: 'reason', label: 'Причина', maxlength: 1000 }],
      submit: 'Запретить писать',
      onSubmit: async v => {
        try {
          await ctx.invoke('MuteMember', { chatId: c.id, accountId: member.accountId, ruleId: v.ruleId, minutes: Number(v.minutes), reason: v.reason.trim() || undefined });
        } catch (e) { throw hubFail(e); }
      },
    });
    if (!c.side.hidden) await ctx.renderInfo();
  }

  /** Removes a member from the chat (subject chats and groups; the roster's chats refuse it). The dialog is the confirmation. */
  async function removeMember(member) {
    const c = ctx.current();
    const removed = await formDialog({
      title: 'Удалить из чата: ' + member.displayName,
      text: `${member.displayName} перестанет видеть чат «${c.summary.title}» и его новые сообщения. Вернуть можно только новым приглашением.`,
      fields: [await ruleField(), { name: 'reason', label: 'Причина', maxlength: 1000 }],
      submit: 'Удалить из чата',
      onSubmit: async v => {
        try {
          await ctx.invoke('RemoveChatMember', { chatId: c.id, accountId: member.accountId, ruleId: v.ruleId, reason: v.reason.trim() || undefined });
        } catch (e) { throw hubFail(e); }
      },
    });
    if (removed && ctx.current() === c) {
      c.summary.memberCount = Math.max(0, c.summary.memberCount - 1);
      ctx.renderHead();
      if (!c.side.hidden) await ctx.renderInfo();
    }
  }

  async function recordViolation(member, messageSeq) {
    const c = ctx.current();
    const clientId = newId(); // «Записать нарушение» again after a lost answer records it once
    await formDialog({
      title: 'Нарушение правил: ' + member.displayName,
      text: 'Нарушение записывается в журнал. Заблокировать можно после более чем трёх нарушений.',
      fields: [await ruleField(), { name: 'note', label: 'Комментарий', maxlength: 1000 }],
      submit: 'Записать нарушение',
      onSubmit: async v => {
        try {
          const r = await ctx.invoke('RecordViolation', { chatId: c.id, accountId: member.accountId, ruleId: v.ruleId, messageSeq: messageSeq ?? undefined, note: v.note.trim() || undefined, clientId });
          c.violations ||= new Map();
          c.violations.set(member.accountId, r);
        } catch (e) { throw hubFail(e); }
      },
    });
    if (!c.side.hidden) await ctx.renderInfo();
  }

  async function blockMember(member) {
    const c = ctx.current();
    const day = d => { const x = new Date(); x.setDate(x.getDate() + d); return x.toISOString().slice(0, 10); };
    await formDialog({
      title: 'Заблокировать: ' + member.displayName,
      text: 'Блокировка — только за нарушение правил (больше трёх нарушений), не дольше месяца. Участник сможет читать чат, но не писать.',
      fields: [await ruleField(),
        { name: 'until', label: 'До (включительно)', type: 'date', required: true, value: day(7), min: day(1), max: day(28) },
        { name: 'reason', label: 'Причина', maxlength: 500 }],
      submit: 'Заблокировать',
      onSubmit: async v => {
        const until = new Date(v.until + 'T23:59:00');
        try {
          await ctx.invoke('BlockMember', { chatId: c.id, accountId: member.accountId, ruleId: v.ruleId, until: until.toISOString(), reason: v.reason.trim() || undefined });
        } catch (e) { throw hubFail(e); }
      },
    });
    if (!c.side.hidden) await ctx.renderInfo();
  }

  /** The banner a blocked or muted member sees instead of the input box. */
  function restrictionBanner(r) {
    return h('div', { class: 'banner restriction', role: 'alert' },
      `${r.kind === 'mute' ? 'Вы не можете писать в этом чате' : 'Вы заблокированы в этом чате'} до ${dateTime.format(new Date(r.endsAt))}. Правило ${r.ruleNumber}: ${r.ruleText}`,
      r.reason ? ` Причина: ${r.reason}` : '');
  }

  return { messageActions, reportsBox, memberNotes, memberActions, restrictionBanner };
}
