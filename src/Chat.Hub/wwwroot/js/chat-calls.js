// Calls in the chat view: the start buttons in the chat's header, the live-call banner, planned lessons («Запланировано»,
// «Запланировать урок»), reminders of planned calls (a banner in the open chat, otherwise a toast and a mark in the list) and, in «О чате», the chat's lessons and calls with their attendance (for its moderators). The
// call itself runs on call.html (call.js).

import { hubFail, newId } from './hub.js';
import { api, blob, inMyTimeZone, saveBlob } from './api.js';
import { h, fill, time, plural, dateTime } from './dom.js';
import { formDialog } from './dialog.js';
import { reminderMinutes } from './notify.js';

const LESSON_KINDS = new Set(['class', 'subject', 'group', 'parents', 'staff_room']);
const BROADCAST_KINDS = new Set(['channel', 'group']);
/** A live call's kind (a chat list's liveCall.kind, liveKind below) as the list says it. */
export const LIVE_NAMES = { call: 'идёт звонок', lesson: 'идёт урок', broadcast: 'идёт трансляция' };

/** «●» with its meaning for the eye (a tooltip) and for a screen reader: a call going on somewhere not in view. */
export const liveMark = meaning => h('span', { class: 'kind live live-elsewhere', role: 'img', 'aria-label': meaning, title: meaning }, ' ●');

/**
 * ctx: { invoke(method, ...args) over the hub, me, school, current() (the open chat or null), renderHead(), renderList(),
 * openChat(chatId), titleOf(chatId), notify(reminder) and notifyGone(planId): the system notification of a reminder }.
 * Keeps the live calls announced to me (chatId -> CallDto) and the reminders not dismissed (planId -> CallReminderDto),
 * each with when this page learned of it (knownAt, remindedAt: performance.now()), so that an answer asked before
 * then (the chat list, the reminders' catch-up) does not take it for gone.
 */
export function chatCalls(ctx) {
  const { me, school } = ctx;
  const calls = new Map();
  const reminders = new Map();
  // What the chat list (GetChats) said of live calls, for chats whose call was not announced to this page (it was
  // started before the page opened, or while it was offline): chatId -> { callId, kind }.
  const listed = new Map();
  const endedCalls = new Set(); // calls ended while the page is open: a list asked before the end may still show them
  const toasts = h('div', { class: 'toasts', role: 'region', 'aria-label': 'Уведомления', 'aria-live': 'polite' });

  /**
   * The chat's live call (a pupil who opens the chat after CallStarted) and its planned calls. The answer may be
   * older than a push that came while it was on its way: a call it names that CallEnded has ended since is not put
   * back, and a call CallStarted announced since stays.
   */
  async function load(c) {
    const askedAt = performance.now();
    try {
      const [live, plans] = await Promise.all([ctx.invoke('GetChatCall', c.id), ctx.invoke('GetScheduledCalls', c.id)]);
      if (!(calls.get(c.id)?.knownAt >= askedAt)) {
        if (live && !endedCalls.has(live.callId)) calls.set(c.id, { ...live, knownAt: askedAt }); else calls.delete(c.id);
      }
      c.plans = plans;
    } catch {
      return; // e.g. a blocked member: no call banner
    }
    if (ctx.current() === c) ctx.renderHead();
    ctx.renderList();
  }

  function started(call) {
    calls.set(call.chatId, { ...call, knownAt: performance.now() });
    // The live-call banner takes over from the chat's reminders.
    for (const r of [...reminders.values()]) if (r.chatId === call.chatId) forget(r.planId);
    if (ctx.current()?.id === call.chatId) ctx.renderHead();
    ctx.renderList();
  }

  function ended(callId) {
    endedCalls.add(callId);
    for (const [chatId, l] of listed) if (l.callId === callId) listed.delete(chatId);
    const c = ctx.current();
    for (const [chatId, call] of calls) {
      if (call.callId !== callId) continue;
      calls.delete(chatId);
      if (c?.id === chatId) { ctx.renderHead(); load(c); } // a plan of this call is over now
    }
    ctx.renderList();
  }

  /**
   * The chat list as GetChats answered it (asked at askedAt, performance.now()): its live calls are marked; a call
   * announced here before the list was asked that the list no longer shows has ended unseen (CallEnded lost in a
   * reconnect) and is forgotten. The open chat is left alone: it asks GetChatCall itself.
   */
  function fromList(summaries, askedAt) {
    listed.clear();
    for (const s of summaries) if (s.liveCall && !endedCalls.has(s.liveCall.callId)) listed.set(s.id, s.liveCall);
    const inList = new Set(summaries.map(s => s.id));
    for (const [chatId, call] of [...calls]) {
      if (ctx.current()?.id === chatId || !inList.has(chatId) || listed.get(chatId)?.callId === call.callId) continue;
      // Ended unseen — or ended and followed by another call, which the list names (and marks) instead.
      if (call.knownAt < askedAt) calls.delete(chatId);
    }
  }

  /** The chat's live call as its list entry says it: 'call', 'lesson' or 'broadcast'; null when none. */
  function liveKind(chatId) {
    const call = calls.get(chatId);
    if (call) return call.kind === 'broadcast' ? 'broadcast' : call.lessonMode ? 'lesson' : 'call';
    return listed.get(chatId)?.kind ?? null;
  }

  /** Someone joined or left a live call (pushed to the chat): the banner's «участников: N» follows. */
  function participants(callId, change) {
    for (const [chatId, call] of calls) {
      if (call.callId !== callId) continue;
      call.participants = change(call.participants || []);
      if (ctx.current()?.id === chatId) ctx.renderHead();
    }
  }

  function viewers(callId, count) {
    for (const [chatId, call] of calls) {
      if (call.callId !== callId) continue;
      call.viewerCount = count;
      if (ctx.current()?.id === chatId) ctx.renderHead();
    }
  }

  /**
   * CallScheduled: a plan made or cancelled (the server has no other change of a plan: a new time is a new plan). A
   * cancelled plan's reminder goes too: its toast, banner, mark in the list and system notification.
   */
  function scheduled(plan) {
    if (plan.cancelled) cancelled(plan.planId);
    const c = ctx.current();
    if (c?.id !== plan.chatId || !c.plans) return;
    c.plans = c.plans.filter(p => p.planId !== plan.planId);
    if (!plan.cancelled) c.plans.push(plan);
    ctx.renderHead();
  }

  // ---- reminders (CallReminder: "starts soon", then "starts now") ----

  /**
   * A reminder replaces the earlier one of the same plan; shown in the open chat, else as a toast and a mark in the list.
   * quiet: one that went out before (catchUpReminders) — shown in the page, without a system notification.
   */
  function remind(r, quiet = false) {
    if (calls.has(r.chatId)) return; // the live-call banner says more (the server sends none then, but a late one may cross CallStarted)
    if (cancelledPlans.has(r.planId)) return; // a late one, or a catch-up asked before the cancellation
    reminders.set(r.planId, { ...r, remindedAt: performance.now() });
    if (!quiet) ctx.notify(r);
    if (ctx.current()?.id === r.chatId) {
      toastOf(r.planId)?.remove();
      ctx.renderHead();
    } else {
      showToast(r);
    }
    ctx.renderList();
  }

  /** Reminders still worth showing: not dismissed, the call not started, at most a quarter of an hour past the start. */
  function remindersOf(chatId) {
    const stale = Date.now() - 15 * 60e3;
    for (const r of [...reminders.values()]) if (new Date(r.startsAt).getTime() < stale) forget(r.planId);
    return calls.has(chatId) ? [] : [...reminders.values()].filter(r => r.chatId === chatId)
      .sort((a, b) => new Date(a.startsAt) - new Date(b.startsAt));
  }

  function reminderText(r) {
    if (r.atStart) return `Начинается: ${r.title}`;
    const m = reminderMinutes(r);
    return `Через ${m} ${plural(m, 'минуту', 'минуты', 'минут')}: ${r.title}`;
  }

  const cancelledPlans = new Set(); // plans cancelled while this page is open: no reminder of them comes back

  /** A plan cancelled (CallScheduled, or here by «Отменить»): its reminder is forgotten, wherever it shows. */
  function cancelled(planId) {
    cancelledPlans.add(planId);
    const r = reminders.get(planId);
    if (!r) return;
    forget(planId);
    if (ctx.current()?.id === r.chatId) ctx.renderHead();
    ctx.renderList();
  }

  function forget(planId) {
    reminders.delete(planId);
    toastOf(planId)?.remove();
    ctx.notifyGone(planId);
  }

  /** The reminders sent while this page was closed or offline (GetCallReminders), less those already here or dismissed. */
  async function catchUpReminders() {
    const askedAt = performance.now();
    let sent;
    try { sent = await ctx.invoke('GetCallReminders'); } catch { return; } // e.g. offline again: the next connection asks
    // One held from before that the server no longer has: cancelled, or its call began (and perhaps ended) meanwhile.
    const still = new Set(sent.map(r => r.planId));
    for (const [planId, r] of [...reminders]) {
      if (!still.has(planId) && r.remindedAt < askedAt) dismiss(planId);
    }
    for (const r of sent) {
      const here = reminders.get(r.planId);
      if (dismissed.has(reminderKey(r)) || (here && (here.atStart || !r.atStart))) continue;
      remind(r, true);
    }
  }

  const dismissed = new Set(); // reminders closed on this page (reminderKey), not shown again by a catch-up
  const reminderKey = r => `${r.planId}:${r.atStart}`;

  function dismiss(planId) {
    const r = reminders.get(planId);
    if (r) dismissed.add(reminderKey(r));
    forget(planId);
    if (r && ctx.current()?.id === r.chatId) ctx.renderHead();
    ctx.renderList();
  }

  function toastOf(planId) {
    return [...toasts.children].find(t => t.dataset.planId === planId);
  }

  function showToast(r) {
    const toast = h('div', { class: 'toast call-reminder', dataset: { planId: r.planId, chatId: r.chatId } },
      h('button', {
        class: 'toast-open', type: 'button', title: 'Открыть чат',
        onclick: () => { toast.remove(); ctx.openChat(r.chatId); },
      }, h('strong', {}, reminderText(r)), h('span', { class: 'muted' }, ctx.titleOf(r.chatId) || '')),
      h('button', { class: 'btn link small', type: 'button', 'aria-label': 'Скрыть напоминание', title: 'Скрыть', onclick: () => dismiss(r.planId) }, '✕'));
    const earlier = toastOf(r.planId);
    if (earlier) earlier.replaceWith(toast); else toasts.append(toast);
  }

  /** The list's mark of a chat with a reminder. */
  function reminderBadge(chatId) {
    const rs = remindersOf(chatId);
    if (!rs.length) return null;
    return h('span', { class: 'badge call-soon' }, rs.some(r => r.atStart) ? 'звонок начинается' : 'звонок скоро');
  }

  function reminderBanners(c) {
    return remindersOf(c.id).map(r => {
      toastOf(r.planId)?.remove(); // the chat is open: the banner says it
      return h('div', { class: 'banner call-reminder row', role: 'status', dataset: { planId: r.planId } },
        h('strong', { style: 'flex:1' }, reminderText(r)),
        callLink('Подключиться', `plan=${r.planId}&autostart=1`),
        h('button', { class: 'btn link small', type: 'button', 'aria-label': 'Скрыть напоминание', title: 'Скрыть', onclick: () => dismiss(r.planId) }, '✕'));
    });
  }

  function mayStartCalls(s) {
    return s.kind === 'direct' || (LESSON_KINDS.has(s.kind) && (s.role !== 'member' || school.isTeacher));
  }

  /** The header's buttons: start a lesson, a call or a broadcast, plan one. */
  function headButtons(c) {
    const s = c.summary;
    if (s.archived) return []; // an archived chat keeps its history only: the server refuses calls there (chat_archived)
    const live = calls.has(c.id);
    const canStartLesson = LESSON_KINDS.has(s.kind) && (s.role !== 'member' || school.isTeacher);
    return [
      !live && canStartLesson && callLink('Начать урок', `chat=${c.id}&lesson=1&autostart=1`),
      !live && s.kind === 'direct' && callLink('Позвонить', `chat=${c.id}&autostart=1`),
      // A broadcast («трансляция»): the host presents, everyone else watches (docs/calls.md); channels and groups only.
      !live && BROADCAST_KINDS.has(s.kind) && (s.role !== 'member' || (school.isTeacher && !s.readOnly)) && callLink('Начать трансляцию', `chat=${c.id}&broadcast=1&autostart=1`),
      mayStartCalls(s) && h('button', { class: 'btn small', type: 'button', onclick: () => scheduleCall(c) }, s.kind === 'direct' ? 'Запланировать звонок' : 'Запланировать урок'),
    ];
  }

  /** The banners above the messages: the live call and the planned ones. */
  function banners(c) {
    const out = reminderBanners(c);
    const call = calls.get(c.id);
    if (call) {
      out.push(h('div', { class: 'banner call-banner', role: 'status' },
        h('strong', {}, call.kind === 'broadcast' ? 'Идёт трансляция' : call.lessonMode ? 'Идёт урок' : 'Идёт звонок'),
        call.kind === 'broadcast' ? ` · зрителей: ${call.viewerCount || 0} ` : ` · участников: ${call.participants?.length || 0} `,
        callLink('Присоединиться', `call=${call.callId}&autostart=1`)));
    }
    const plans = renderPlans(c);
    if (plans) out.push(plans);
    return out;
  }

  function renderPlans(c) {
    const now = Date.now();
    const upcoming = (c.plans || []).filter(p => !p.cancelled && new Date(p.startsAt).getTime() > now - 2 * 3600e3)
      .sort((a, b) => new Date(a.startsAt) - new Date(b.startsAt));
    clearTimeout(c.planTimer);
    const next = upcoming.map(p => new Date(p.opensAt).getTime()).filter(t => t > now).sort((a, b) => a - b)[0];
    if (next && next - now < 2 ** 31 - 1) c.planTimer = setTimeout(() => { if (ctx.current() === c) ctx.renderHead(); }, next - now + 500);
    if (!upcoming.length) return null;
    const kindName = { lesson: 'Урок', call: 'Звонок', broadcast: 'Трансляция' };
    return h('div', { class: 'banner plans', role: 'region', 'aria-label': 'Запланированные звонки' },
      h('strong', {}, 'Запланировано'),
      h('ul', { class: 'list-plain' }, upcoming.map(p => {
        const open = new Date(p.opensAt).getTime() <= now;
        const over = !!p.callId && calls.get(c.id)?.callId !== p.callId; // its call took place and has ended
        const mine = !over && (p.hostId === me.id || c.summary.role !== 'member');
        return h('li', { class: 'plan row', dataset: { planId: p.planId } },
          h('span', { style: 'flex:1' }, `${kindName[p.kind] || 'Звонок'} «${p.title}» — `, h('time', { datetime: p.startsAt }, dateTime.format(new Date(p.startsAt)))),
          over ? h('span', { class: 'muted' }, 'завершён')
            : open ? callLink('Присоединиться', `plan=${p.planId}&autostart=1`) : h('span', { class: 'muted' }, `вход с ${time(p.opensAt)}`),
          mine && h('button', { class: 'btn small', type: 'button', onclick: () => cancelPlan(c, p) }, 'Отменить'));
      })));
  }

  /** Cancels a planned call after a confirmation in the dialog (a refusal is shown there). */
  async function cancelPlan(c, p) {
    const [name, submit] = { lesson: ['Урок', 'Отменить урок'], broadcast: ['Трансляция', 'Отменить трансляцию'] }[p.kind] || ['Звонок', 'Отменить звонок'];
    await formDialog({
      title: `Отменить «${p.title}»?`,
      text: `${name} «${p.title}» исчезнет из запланированных у всех участников чата.`,
      submit,
      onSubmit: async () => {
        try { await ctx.invoke('CancelScheduledCall', p.planId); } catch (e) { throw hubFail(e); }
        c.plans = c.plans.filter(x => x.planId !== p.planId);
        cancelled(p.planId);
        if (ctx.current() === c) ctx.renderHead();
      },
    });
  }

  async function scheduleCall(c) {
    const lessonPossible = c.summary.kind !== 'direct';
    const soon = new Date(Date.now() + 3600e3);
    soon.setMinutes(0, 0, 0);
    const pad = n => String(n).padStart(2, '0');
    const local = d => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const clientId = newId(); // «Запланировать» again after a lost answer makes no second plan
    await formDialog({
      title: lessonPossible ? 'Запланировать урок' : 'Запланировать звонок',
      text: 'Время — ваше местное. Подключиться можно будет за 10 минут до начала.',
      fields: [
        { name: 'title', label: 'Название', required: true, maxlength: 200, value: lessonPossible ? 'Урок' : 'Звонок' },
        { name: 'startsAt', label: 'Начало', type: 'datetime-local', required: true, value: local(soon), min: local(new Date()) },
        lessonPossible && { name: 'lesson', label: 'Режим урока (ученики слушают, говорят с разрешения)', type: 'checkbox', value: true },
      ].filter(Boolean),
      submit: 'Запланировать',
      onSubmit: async v => {
        const starts = new Date(v.startsAt); // datetime-local is parsed as local time
        if (Number.isNaN(starts.getTime())) throw new Error('Укажите дату и время.');
        try {
          const plan = await ctx.invoke('ScheduleCall', { chatId: c.id, title: v.title.trim(), startsAt: starts.toISOString(), kind: v.lesson ? 'lesson' : 'call', clientId });
          c.plans = (c.plans || []).filter(p => p.planId !== plan.planId).concat(plan);
          if (ctx.current() === c) ctx.renderHead();
          return plan;
        } catch (e) { throw hubFail(e); }
      },
    });
  }

  function callLink(label, hash) {
    return h('a', { class: 'btn small primary', href: '/call.html#' + hash, target: '_blank', rel: 'noopener' }, label);
  }

  // ---- lessons and calls of the chat, with attendance (for its moderators) ----

  function duration(seconds) {
    const m = Math.round(seconds / 60);
    return m < 1 ? 'меньше минуты' : m < 60 ? `${m} мин` : `${Math.floor(m / 60)} ч ${m % 60} мин`;
  }

  function callsBox(c) {
    const list = h('div', { class: 'calls-list', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Загрузка…'));
    const box = h('section', { class: 'calls-box', 'aria-label': 'Уроки и звонки' }, h('h3', { style: 'margin-top:1rem' }, 'Уроки и звонки'), list);
    api('GET', `/api/chats/${c.id}/calls?limit=20`).then(items => {
      if (!items.length) { fill(list, h('p', { class: 'muted' }, 'Звонков ещё не было.')); return; }
      fill(list, h('ul', { class: 'list-plain calls' }, items.map(call => {
        const details = h('div', { class: 'attendance', hidden: true });
        const toggle = h('button', {
          class: 'btn link small', type: 'button', 'aria-expanded': 'false',
          onclick: async () => {
            const open = details.hidden;
            details.hidden = !open;
            toggle.setAttribute('aria-expanded', String(open));
            if (open) await showAttendance(c, call, details);
          },
        }, 'Посещаемость');
        const ended = call.endedAt ? `–${time(call.endedAt)}` : ', идёт сейчас';
        return h('li', { class: 'chat-call', dataset: { callId: call.callId } },
          h('div', {}, h('strong', {}, call.lessonMode ? 'Урок' : 'Звонок'), ` ${dateTime.format(new Date(call.startedAt))}${ended}`),
          h('div', { class: 'muted', style: 'font-size:.85rem' }, `${call.attendees} ${plural(call.attendees, 'участник', 'участника', 'участников')} `, toggle),
          details);
      })));
    }, e => fill(list, h('p', { class: 'error' }, e.display || 'Не удалось загрузить звонки.')));
    return box;
  }

  /** «Скачать (CSV)»: the same list for a spreadsheet, its times in the reader's time zone (the server names the file; the download keeps its own name here). */
  function csvButton(c, call) {
    const note = h('span', { class: 'error', role: 'status' });
    const path = inMyTimeZone(`/api/chats/${c.id}/calls/${call.callId}/attendance.csv`);
    const name = `${call.lessonMode ? 'урок' : 'звонок'}-посещаемость-${new Date(call.startedAt).toLocaleDateString('sv-SE')}.csv`;
    return h('p', {},
      h('button', {
        class: 'btn small', type: 'button',
        onclick: async () => {
          note.textContent = '';
          try { saveBlob(await blob(path), name); } catch (e) { note.textContent = e.display || 'Не удалось скачать посещаемость.'; }
        },
      }, 'Скачать посещаемость (CSV)'), ' ', note);
  }

  async function showAttendance(c, call, el) {
    fill(el, h('p', { class: 'muted' }, 'Загрузка…'));
    try {
      const a = await api('GET', `/api/chats/${c.id}/calls/${call.callId}/attendance`);
      const came = a.people.filter(p => p.attended);
      const absent = a.people.filter(p => !p.attended && p.chatRole);
      fill(el,
        h('table', { class: 'attendance-table' },
          h('caption', { class: 'muted' }, `Пришли: ${a.attended} · не пришли: ${a.absent}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Кто'), h('th', { scope: 'col' }, 'Пришёл'), h('th', { scope: 'col' }, 'Сколько'))),
          h('tbody', {}, came.map(p => h('tr', { class: 'came', dataset: { accountId: p.accountId } },
            h('td', {}, p.displayName, p.removed ? ' (удалён из звонка)' : '', p.presentNow ? ' (сейчас в звонке)' : ''),
            h('td', {}, time(p.firstJoinedAt), p.intervals > 1 ? ` (заходил ${p.intervals} ${plural(p.intervals, 'раз', 'раза', 'раз')})` : ''),
            h('td', {}, duration(p.seconds)))))),
        absent.length > 0 && h('div', { class: 'absent' }, h('strong', {}, 'Не пришли: '),
          h('ul', { class: 'list-plain' }, absent.map(p => h('li', { dataset: { accountId: p.accountId } }, p.displayName)))),
        csvButton(c, call));
    } catch (e) {
      fill(el, h('p', { class: 'error' }, e.display || 'Не удалось загрузить посещаемость.'));
    }
  }

  return { liveKind, fromList, catchUpReminders, load, started, ended, viewers, participants, scheduled, remind, reminderBadge, toasts, headButtons, banners, callsBox };
}
