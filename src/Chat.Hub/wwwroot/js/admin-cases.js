// «Чаты школы» in «Управление школой»: the school's chats (not direct ones) and the admin's moderation cases. By the
// school's rules (docs/policies.md) an admin reads and moderates a chat she is not in only through a logged case:
// «Открыть разбор» asks for the reason and gives her a moderator's rights there for 24 hours; «Открыть чат» opens it
// in the chat view with the usual moderation tools.

import { api } from './api.js';
import { h, fill } from './dom.js';
import { formDialog } from './dialog.js';

const KIND_NAMES = { class: 'класс', parents: 'родители', staff_room: 'учительская', subject: 'предметный', group: 'группа', channel: 'канал' };
const ROLE_NAMES = { owner: 'вы владелец', moderator: 'вы модератор', member: 'вы участник' };
const clock = new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long' });

/** When a case ends, in local time: «14:30» today, «завтра, 14:30», else with the date («3 марта, 14:30»). */
export function caseUntil(iso) {
  const end = new Date(iso);
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const date = end.toDateString() === new Date().toDateString() ? ''
    : end.toDateString() === tomorrow.toDateString() ? 'завтра, ' : day.format(end) + ', ';
  return date + clock.format(end);
}

/** «Разбор до 14:30». */
export function caseEnd(iso) {
  return 'Разбор до ' + caseUntil(iso);
}

/**
 * Fills the section with the school's chats. base: `/api/schools/{id}`; openChat(chatId) leaves the administration
 * for the chat view with that chat open; opened() is called after a case was opened (the audit log reloads).
 */
export async function loadSchoolChats(sec, { base, openChat, opened }) {
  const chats = await api('GET', `${base}/chats`);
  const rows = chats.map(c => h('tr', { dataset: { chatId: c.id } },
    h('td', {}, c.title, c.archived && h('span', { class: 'muted' }, ' (архив)')),
    h('td', {}, KIND_NAMES[c.kind] || c.kind),
    h('td', {}, String(c.memberCount)),
    h('td', { class: 'case-state' }, c.myRole ? ROLE_NAMES[c.myRole] : c.caseUntil ? caseEnd(c.caseUntil) : h('span', { class: 'muted' }, '—')),
    h('td', {}, h('div', { class: 'row' },
      // A member opens the chat from her own list; a case is for the chats she is not in.
      !c.myRole && !c.caseUntil && h('button', { class: 'btn small', type: 'button', 'aria-label': 'Открыть разбор ' + c.title, onclick: () => openCase(c) }, 'Открыть разбор'),
      !c.myRole && c.caseUntil && h('button', { class: 'btn small', type: 'button', 'aria-label': 'Открыть чат ' + c.title, onclick: () => openChat(c.id) }, 'Открыть чат')))));
  fill(sec, h('h2', { id: 'adm-chats' }, 'Чаты школы'),
    h('p', { class: 'muted' }, 'Чат, в котором вы не состоите, администратор читает и модерирует только через разбор: с причиной, на 24 часа, с записью в журнале действий. Личные переписки в список не входят.'),
    chats.length === 0 ? h('p', { class: 'muted' }, 'Чатов пока нет.') : h('div', { class: 'table-wrap' }, h('table', { class: 'school-chats' },
      h('thead', {}, h('tr', {}, ['Чат', 'Вид', 'Участников', 'Ваш доступ', ''].map(t => h('th', {}, t)))),
      h('tbody', {}, rows))));

  async function openCase(c) {
    const done = await formDialog({
      title: `Открыть разбор чата «${c.title}»`,
      text: 'На 24 часа вы получите права модератора в этом чате, не становясь его участником: сможете читать сообщения, '
        + 'удалять их по правилам школы, записывать нарушения, блокировать и запрещать писать. Разбор и его причина '
        + 'записываются в журнал действий школы, его видят администраторы.',
      fields: [{ name: 'reason', label: 'Причина разбора (обязательно)', type: 'textarea', maxlength: 1000 }],
      submit: 'Открыть разбор',
      onSubmit: v => api('POST', `${base}/chats/${c.id}/moderation-cases`, { reason: v.reason.trim() }),
    });
    if (!done) return;
    await loadSchoolChats(sec, { base, openChat, opened });
    sec.querySelector(`[data-chat-id="${c.id}"] button`)?.focus();
    opened?.();
  }
}
