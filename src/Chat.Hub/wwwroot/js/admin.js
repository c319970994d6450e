// School administration: school info with the approval policy and safe mode, statistics with charts and CSV, the storage report, classes
// (rename, archive, archived ones apart) and class teachers, staff (teacher verification, admins, the director, leaving), pupils (moving between classes,
// leaving), the school-year rollover, the school's rules, invite links with QR codes, join requests, system channels
// and who may post in them, the school's chats with the admin's moderation cases (admin-cases.js), the audit log.
// Destructive actions ask first in a dialog.
// A class teacher who is not an admin sees only the invite links and join requests of their classes.

import { api, ApiError, blob, inMyTimeZone, saveBlob, session } from './api.js';
import { h, fill, mount, ROLE_NAMES, shortTime, dateTime, localDate } from './dom.js';
import { barChart } from './charts.js';
import { formDialog } from './dialog.js';
import { hubAccessToken, hubError, reconnectForever } from './hub.js';
import { size } from './files.js';
import { loadSchoolChats } from './admin-cases.js';

/**
 * A form's submit handler that runs one request at a time: the form's submit button is disabled until it ends, so a
 * double click does not make two channels or two links.
 */
const oneAtATime = handler => async ev => {
  ev.preventDefault();
  const form = ev.currentTarget;
  if (form.dataset.busy) return;
  form.dataset.busy = 'true';
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  try { await handler(ev); } finally { delete form.dataset.busy; if (button) button.disabled = false; }
};

const STATE_NAMES = { active: 'действует', expired: 'истекло', used_up: 'исчерпано', revoked: 'отозвано' };
const ACTION_NAMES = {
  'school.registered': 'школа зарегистрирована', 'school.updated': 'сведения о школе изменены', 'school.suspended': 'работа школы приостановлена',
  'school.resumed': 'работа школы возобновлена', 'class.created': 'создан класс', 'class.updated': 'класс изменён',
  'class_teacher.attached': 'назначен классный руководитель', 'class_teacher.detached': 'классный руководитель откреплён',
  'admin.appointed': 'назначен администратор', 'admin.removed': 'администратор снят', 'teacher.verified': 'учитель подтверждён',
  'teacher.unverified': 'подтверждение учителя снято', 'director.appointed': 'назначен директор', 'director.removed': 'директор снят',
  'invite.created': 'создана ссылка-приглашение', 'invite.revoked': 'ссылка отозвана', 'invite.revoked_unused': 'неиспользованные ссылки отозваны',
  'invite.accepted': 'приглашение принято', 'join_request.created': 'подана заявка', 'join_request.approved': 'заявка одобрена',
  'join_request.rejected': 'заявка отклонена', 'chat.created': 'создан чат', 'moderation.message_deleted': 'сообщение удалено модератором',
  'moderation.violation': 'записано нарушение', 'moderation.blocked': 'участник заблокирован', 'moderation.unblocked': 'участник разблокирован',
  'moderation.muted': 'участнику запрещено писать', 'moderation.unmuted': 'запрет писать снят', 'moderation.removed': 'участник удалён из чата',
  'moderation.case_opened': 'открыт разбор чата (права модератора на 24 часа)', 'moderation.report_resolved': 'жалоба рассмотрена',
  'moderation.reported': 'жалоба на сообщение', 'moderation.rules_reminded': 'напоминание правил',
  'student.moved': 'ученик переведён в другой класс', 'student.left': 'ученик выбыл из школы', 'parent.unlinked': 'родитель отвязан от ученика', 'parent.left': 'родитель сам вышел из школы', 'staff.left': 'сотрудник покинул школу',
  'school_year.rolled_over': 'переход на новый учебный год', 'rule.saved': 'правило школы сохранено', 'rule.archived': 'правило школы удалено',
  'chat_invite.created': 'создана ссылка в чат', 'chat_invite.revoked': 'ссылка в чат отозвана', 'chat_invite.accepted': 'вступление в чат по ссылке',
  'chat.updated': 'настройки чата изменены', 'chat.member_role': 'права участника чата изменены',
  'chat.member_removed_by_roster': 'участник выведен из чата, состав которого ведёт школа (был добавлен вручную)', 'account.deleted': 'аккаунт удалён',
  'invite.revoked_by_roster': 'ссылка-приглашение отозвана: её автор больше не может приглашать',
};
// A chat member's new role (chat.member_role): in a channel a moderator may post, a member only reads.
const CHAT_ROLE_NAMES = { owner: 'теперь владелец', moderator: 'теперь модератор (в канале может писать)', member: 'теперь рядовой участник (в канале только читает)' };
// Whom a channel is for (chat.created with an audience).
const AUDIENCE_NAMES = { student: 'ученики', parent: 'родители', staff: 'сотрудники' };
// How a report was resolved (moderation.report_resolved).
const RESOLUTION_NAMES = { deleted: 'сообщение удалено', warned: 'автор предупреждён', dismissed: 'жалоба отклонена' };
// What became of a deleted account's messages in this school (account.deleted).
const DELETED_MESSAGES = { keep: 'сообщения остались с подписью «Удалённый пользователь»', remove: 'сообщения удалены' };
// The school's settings for joining and for pupils' safety (PUT /api/schools/{id}); docs/policies.md.
const POLICY = [
  ['approveStudents', 'Ученики вступают по ссылке только после одобрения'],
  ['approveParents', 'Родители вступают по ссылке только после одобрения (по общей ссылке класса — всегда)'],
  ['approveStaff', 'Сотрудники вступают по ссылке только после одобрения'],
  ['pupilSafeMode', 'Режим безопасности для учеников: писать ученику лично, добавлять его в чаты и звонить ему могут только одноклассники, сотрудники школы и его родители'],
];
const KIND_NAMES = { class: 'классы', parents: 'родители', staff_room: 'учительская', subject: 'предметные', group: 'группы', channel: 'каналы', direct: 'личные' };

export async function showAdmin(root, school, back, options = {}) {
  const teacherOnly = !!options.teacherOnly;
  const statsOnly = !!options.statsOnly; // the director: usage statistics only
  const base = `/api/schools/${school.schoolId}`;
  const section = (id, title) => h('section', { 'aria-labelledby': id, id: id + '-sec' });
  const info = section('adm-school');
  const statsSec = section('adm-stats');
  const storageSec = section('adm-storage');
  const classesSec = section('adm-classes');
  const staffSec = section('adm-staff');
  const invitesSec = section('adm-invites');
  const requestsSec = section('adm-requests');
  const channelsSec = section('adm-channels');
  const chatsSec = section('adm-chats');
  const auditSec = section('adm-audit');
  const pupilsSec = section('adm-pupils');
  const yearSec = section('adm-year');
  const rulesSec = section('adm-rules');
  const nav = [['adm-school', 'Школа'], ['adm-stats', 'Статистика'], ['adm-storage', 'Хранилище'], ['adm-classes', 'Классы'], ['adm-staff', 'Сотрудники'], ['adm-pupils', 'Ученики'],
    ['adm-year', 'Учебный год'], ['adm-rules', 'Правила'], ['adm-invites', 'Приглашения'], ['adm-requests', 'Заявки'], ['adm-channels', 'Каналы'], ['adm-chats', 'Чаты'], ['adm-audit', 'Журнал']];
  // The page's own hub connection (for «Разрешить писать» / «Запретить писать»): made on the first use, kept only once
  // started, reconnecting without end with a renewed token (as the chat view's, js/hub.js), stopped when the page is left.
  let hub = null;
  let hubStarting = null;
  let pageLeft = false;
  const stopHub = () => { pageLeft = true; hub?.stop(); hub = null; };
  const leave = () => { stopHub(); back(); };
  // «Открыть чат» of a moderation case: the chat view with that chat open.
  const openChat = chatId => { stopHub(); options.openChat(chatId); };
  mount(root,
    h('header', { class: 'topbar' },
      h('button', { class: 'btn small', onclick: leave }, '← К чатам'),
      h('span', { class: 'title' }, (statsOnly ? 'Статистика: ' : teacherOnly ? 'Приглашения: ' : 'Управление школой: ') + school.name)),
    statsOnly ? h('div', { class: 'admin' }, statsSec) : h('div', { class: 'admin' },
      !teacherOnly && h('nav', { class: 'admin-nav', 'aria-label': 'Разделы' }, nav.map(([id, t]) => h('a', { href: '#' + id + '-sec', class: 'btn small' }, t))),
      teacherOnly ? [invitesSec, requestsSec] : [info, statsSec, storageSec, classesSec, staffSec, pupilsSec, yearSec, rulesSec, invitesSec, requestsSec, channelsSec, chatsSec, auditSec]));
  let classes = [];
  let members = [];

  const errText = e => (e instanceof ApiError ? e.display : e?.message || 'Что-то пошло не так.');
  const errBox = () => h('p', { class: 'error', role: 'alert' });
  const className = id => classes.find(c => c.id === id)?.name || '';
  const nameOf = id => members.find(m => m.accountId === id)?.displayName || '';

  function connectHub() {
    if (hub) return Promise.resolve(hub);
    hubStarting ??= (async () => {
      const c = new signalR.HubConnectionBuilder().withUrl('/hubs/chat', { accessTokenFactory: hubAccessToken })
        .withAutomaticReconnect(reconnectForever).configureLogging(signalR.LogLevel.None).build();
      try {
        await c.start();
      } finally {
        hubStarting = null;
      }
      if (pageLeft) { c.stop(); throw new Error('page left'); }
      c.onclose(() => { if (hub === c) hub = null; });
      hub = c;
      return c;
    })();
    return hubStarting;
  }

  /** Calls the hub; a refusal or a lost connection throws an Error with a Russian message (the server's, or ours). */
  async function hubInvoke(method, ...args) {
    try {
      const c = await connectHub();
      // While it reconnects (after a network blip), wait a little for it rather than fail at once.
      for (let i = 0; i < 50 && c.state === signalR.HubConnectionState.Reconnecting; i++) await new Promise(r => setTimeout(r, 200));
      return await c.invoke(method, ...args);
    } catch (e) {
      const err = hubError(e);
      throw new Error(err.code === 'network' ? 'Нет связи с сервером. Подождите несколько секунд и попробуйте ещё раз.' : err.message);
    }
  }

  async function loadInfo() {
    const s = await api('GET', base);
    const name = h('input', { type: 'text', value: s.name, maxlength: 200, required: true, id: 'adm-name' });
    const region = h('input', { type: 'text', value: s.region || '', maxlength: 200, id: 'adm-region' });
    const address = h('input', { type: 'text', value: s.address || '', maxlength: 500, id: 'adm-address' });
    const journal = h('input', { type: 'url', value: s.journalUrl || '', maxlength: 500, id: 'adm-journal' });
    const switches = POLICY.map(([key, label]) => ({ key, input: h('input', { type: 'checkbox', id: 'adm-' + key, checked: !!s[key] }), label }));
    const err = errBox();
    fill(info, h('h2', { id: 'adm-school' }, 'Школа'),
      h('form', {
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          try {
            const policy = Object.fromEntries(switches.map(x => [x.key, x.input.checked]));
            if (s.pupilSafeMode && !policy.pupilSafeMode) {
              const sure = await formDialog({
                title: 'Выключить режим безопасности?',
                text: 'Тогда писать ученикам лично и добавлять их в чаты смогут все участники школы, которым это разрешено правилами (не только одноклассники, сотрудники и родители).',
                submit: 'Выключить',
              });
              if (!sure) return;
            }
            const saved = await api('PUT', base, { name: name.value.trim(), region: region.value.trim(), address: address.value.trim(), journalUrl: journal.value.trim() || undefined, ...policy });
            Object.assign(s, saved);
            err.textContent = 'Сохранено.';
          } catch (e) { err.textContent = errText(e); }
        },
      },
      labelled('Название', name), labelled('Регион', region), labelled('Адрес', address), labelled('Электронный журнал (ссылка)', journal),
      h('fieldset', { class: 'policy' }, h('legend', {}, 'Вступление и безопасность'),
        switches.map(x => h('div', { class: 'field check' }, h('label', { for: x.input.id }, x.input, ' ', x.label)))),
      err, h('button', { class: 'btn primary', type: 'submit' }, 'Сохранить')));
  }

  async function loadMembers() {
    members = await api('GET', `${base}/members`);
  }

  async function loadClasses() {
    // Archived classes too (their pupils' class is named, they are listed apart); the other sections use the active ones.
    classes = await api('GET', `${base}/classes${teacherOnly ? '' : '?includeArchived=true'}`);
    if (teacherOnly) return;
    const name = h('input', { type: 'text', maxlength: 60, required: true, placeholder: 'например, 5А', id: 'adm-class-name' });
    const err = errBox();
    const verified = members.filter(m => m.verifiedTeacher);
    const archived = classes.filter(c => c.archived);
    fill(classesSec, h('h2', { id: 'adm-classes' }, 'Классы и классные руководители'),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Класс', 'Классные руководители', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, classes.filter(c => !c.archived).map(c => {
          const teachers = members.filter(m => m.classTeacherOf?.includes(c.id));
          const pick = h('select', { 'aria-label': 'Классный руководитель для ' + c.name },
            h('option', { value: '' }, verified.length ? 'выберите учителя' : 'нет подтверждённых учителей'),
            verified.filter(t => !teachers.includes(t)).map(t => h('option', { value: t.accountId }, t.displayName)));
          return h('tr', { dataset: { classId: c.id } },
            h('td', {}, c.name, c.kind === 'staff_room' ? ' (учительская)' : ''),
            h('td', {}, c.kind === 'staff_room' ? '—' : teachers.length === 0 ? h('span', { class: 'muted' }, 'не назначен') : teachers.map(t => h('div', { class: 'row' }, t.displayName,
              h('button', {
                class: 'btn link small', type: 'button', 'aria-label': `Открепить ${t.displayName} от ${c.name}`,
                onclick: async () => { try { await api('DELETE', `${base}/classes/${c.id}/teachers/${t.accountId}`); await reloadPeople(); } catch (e) { err.textContent = errText(e); } },
              }, 'Открепить')))),
            h('td', {}, c.kind !== 'staff_room' && h('div', { class: 'row' }, pick, h('button', {
              class: 'btn small', type: 'button',
              onclick: async () => {
                if (!pick.value) return;
                try { await api('PUT', `${base}/classes/${c.id}/teachers/${pick.value}`); await reloadPeople(); } catch (e) { err.textContent = errText(e); }
              },
            }, 'Назначить'), classActions(c))));
        })))),
      archived.length > 0 && [h('h3', { id: 'adm-classes-archived' }, 'Архив классов'),
        h('ul', { class: 'list-plain archived-classes', 'aria-labelledby': 'adm-classes-archived' }, archived.map(c => h('li', { class: 'row', dataset: { classId: c.id } },
          h('span', {}, c.name), h('button', { class: 'btn small', type: 'button', 'aria-label': 'Вернуть из архива ' + c.name, onclick: () => restoreClass(c, err) }, 'Вернуть из архива'))))],
      h('form', {
        class: 'row', style: 'margin-top:.6rem',
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          try {
            await api('POST', `${base}/classes`, { name: name.value.trim() });
            await loadClasses();
            await loadInvites();
          } catch (e) { err.textContent = errText(e); }
        },
      }, h('label', { for: 'adm-class-name' }, 'Новый класс'), name, h('button', { class: 'btn', type: 'submit' }, 'Создать класс')),
      err);
  }

  /** «Переименовать» and «В архив» for a class or group (the staff room is fixed). */
  function classActions(c) {
    return [
      h('button', { class: 'btn small', type: 'button', 'aria-label': 'Переименовать ' + c.name, onclick: () => renameClass(c) }, 'Переименовать'),
      h('button', { class: 'btn small danger', type: 'button', 'aria-label': 'В архив ' + c.name, onclick: () => archiveClass(c) }, 'В архив'),
    ];
  }

  async function renameClass(c) {
    const done = await formDialog({
      title: 'Переименовать класс ' + c.name,
      text: `Чаты «${c.name}» и «Родители ${c.name}» получат новое название.`,
      fields: [{ name: 'name', label: 'Новое название', value: c.name, required: true, maxlength: 60 }],
      submit: 'Переименовать',
      onSubmit: async v => { await api('PATCH', `${base}/classes/${c.id}`, { name: v.name.trim() }); },
    });
    if (done) await afterClassChange(c, 'Переименовать');
  }

  // What archiving does (SchoolService.UpdateClassAsync): the class leaves the lists and its chats become an archive
  // (history readable, no new messages), as a graduating class's do. A class with pupils is refused (class_not_empty):
  // the refusal stays in the dialog.
  async function archiveClass(c) {
    const done = await formDialog({
      title: `Отправить ${c.name} в архив?`,
      text: `${c.name} пропадёт из списков классов, статистики и перехода на новый учебный год; в него нельзя будет пригласить учеников, а действующие ссылки в него перестанут работать; название освободится. `
        + `Чаты «${c.name}», «Родители ${c.name}» и предметные чаты класса станут архивом: история останется, писать в них будет нельзя. В архив отправляется только класс без учеников. Вернуть класс вместе с чатами можно из архива ниже.`,
      submit: 'В архив',
      onSubmit: async () => { await api('PATCH', `${base}/classes/${c.id}`, { archived: true }); },
    });
    if (done) await afterClassChange(c, 'Вернуть из архива');
  }

  async function restoreClass(c, err) {
    try {
      await api('PATCH', `${base}/classes/${c.id}`, { archived: false });
      await afterClassChange(c, 'В архив');
    } catch (e) { err.textContent = errText(e); }
  }

  /** Reloads the sections that name classes; the focus goes to the class's button named action (or the heading). */
  async function afterClassChange(c, action) {
    await reloadPeople();
    await guard(invitesSec, loadInvites);
    (classesSec.querySelector(`[data-class-id="${c.id}"] button[aria-label^="${action} "]`) || classesSec.querySelector('h2')).focus();
  }

  async function reloadPeople() {
    await loadMembers();
    await loadClasses();
    renderStaff();
    renderPupils();
    renderYear();
  }

  function renderStaff() {
    const staff = members.filter(m => m.roles.some(r => ['admin', 'teacher', 'director'].includes(r)));
    const err = errBox();
    const act = (method, path) => async () => { err.textContent = ''; try { await api(method, path); await reloadPeople(); } catch (e) { err.textContent = errText(e); } };
    // Taking a right away is asked first, saying what follows: it is not undone by giving the right back.
    const askFirst = (title, text, submit, method, path) => async () => {
      err.textContent = '';
      const done = await formDialog({ title, text, submit, onSubmit: async () => { await api(method, path); } });
      // An admin who took her own right and with it left the school reads nothing of it any more: the page says so.
      if (done) { try { await reloadPeople(); } catch (e) { err.textContent = errText(e); } }
    };
    // An admin who is not a teacher is staff only as an admin: without the right she leaves the staff, as «Покинул школу» does.
    const adminRemoval = m => {
      const self = m.accountId === session.account?.id;
      if (m.roles.includes('teacher')) {
        return self
          ? 'Вы снимете права администратора с себя: управление школой станет недоступно сразу, вернуть права сможет только другой администратор. Вы останетесь учителем школы со своими чатами.'
          : `${m.displayName} больше не сможет управлять школой и останется учителем со своими чатами; ссылки-приглашения, которые он(а) мог(ла) создать только как администратор, будут отозваны.`;
      }
      const stays = m.roles.includes('parent');
      const chats = 'чаты, которые принадлежали {}, перейдут классному руководителю класса чата, а если его нет — другому администратору; '
        + 'ссылки-приглашения будут отозваны. Повторное назначение администратором этого не вернёт.';
      if (self) {
        return 'Вы снимете права администратора с себя. Вы не учитель этой школы, поэтому '
          + (stays ? 'останетесь в ней только как родитель: выйдете из чатов сотрудников и из всех чатов школы, кроме чатов своего ребёнка; '
            : 'покинете школу: выйдете из всех её чатов, включая «Общешкольный канал»; ')
          + chats.replace('{}', 'вам');
      }
      return `${m.displayName} не учитель этой школы, поэтому `
        + (stays ? 'останется в ней только как родитель: выйдет из чатов сотрудников и из всех чатов школы, кроме чатов своего ребёнка; '
          : 'покинет школу: выйдет из всех её чатов, включая «Общешкольный канал»; ')
        + chats.replace('{}', 'ему (ей)');
    };
    fill(staffSec, h('h2', { id: 'adm-staff' }, 'Сотрудники и подтверждение учителей'), err,
      h('table', {},
        h('thead', {}, h('tr', {}, ['Имя', 'Роли', 'Учитель', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, staff.map(m => h('tr', { dataset: { accountId: m.accountId } },
          h('td', {}, m.displayName),
          h('td', {}, m.roles.map(r => ROLE_NAMES[r] || r).join(', '), m.classTeacherOf?.length ? ` (${m.classTeacherOf.map(className).join(', ')})` : ''),
          h('td', {}, m.roles.includes('teacher') ? (m.verifiedTeacher ? h('span', { class: 'verified' }, '✔ подтверждён') : h('span', { class: 'muted' }, 'не подтверждён')) : '—'),
          h('td', {}, h('div', { class: 'row' },
            m.roles.includes('teacher') && (m.verifiedTeacher
              ? h('button', {
                class: 'btn small', type: 'button',
                onclick: askFirst(`Снять подтверждение: ${m.displayName}`,
                  `${m.displayName} перестанет быть подтверждённым учителем: классное руководство${m.classTeacherOf?.length ? ` (${m.classTeacherOf.map(className).join(', ')})` : ''} будет снято, неиспользованные ссылки-приглашения этого учителя — отозваны. Повторное подтверждение их не вернёт.`,
                  'Снять подтверждение', 'DELETE', `${base}/teachers/${m.accountId}/verification`),
              }, 'Снять подтверждение')
              : h('button', { class: 'btn small primary', type: 'button', onclick: act('PUT', `${base}/teachers/${m.accountId}/verification`) }, 'Подтвердить учителя')),
            m.roles.includes('admin')
              ? h('button', {
                class: 'btn small', type: 'button',
                onclick: askFirst(`Снять администратора: ${m.displayName}`, adminRemoval(m),
                  'Снять права', 'DELETE', `${base}/admins/${m.accountId}`),
              }, 'Снять администратора')
              : h('button', { class: 'btn small', type: 'button', onclick: act('PUT', `${base}/admins/${m.accountId}`) }, 'Сделать администратором'),
            m.roles.includes('director')
              ? h('button', { class: 'btn small', type: 'button', onclick: act('DELETE', `${base}/directors/${m.accountId}`) }, 'Снять директора')
              : m.verifiedTeacher && h('button', { class: 'btn small', type: 'button', onclick: act('PUT', `${base}/directors/${m.accountId}`) }, 'Назначить директором'),
            m.accountId !== session.account?.id && h('button', { class: 'btn small danger', type: 'button', onclick: () => staffLeaves(m, err) }, 'Покинул школу'))))))));
  }

  async function staffLeaves(m, err) {
    const done = await formDialog({
      title: 'Сотрудник покидает школу: ' + m.displayName,
      text: `${m.displayName}: роли сотрудника будут сняты, все чаты школы — покинуты; чаты, которые принадлежали этому сотруднику, перейдут классному руководителю класса чата, а если его нет — администратору; запланированные этим сотрудником уроки и звонки будут отменены. Если сотрудник ещё и родитель ученика школы, чаты своего ребёнка останутся.`,
      fields: [{ name: 'reason', label: 'Причина (в журнал)', maxlength: 500 }],
      submit: 'Исключить из школы',
      onSubmit: async v => { await api('POST', `${base}/staff/${m.accountId}/leave`, { reason: v.reason.trim() || undefined }); },
    });
    if (!done) return;
    err.textContent = '';
    await reloadPeople();
  }

  // ---- pupils: moving between classes, leaving the school ----

  let pupilClassFilter = '';
  function renderPupils() {
    if (teacherOnly) return;
    const pupils = members.filter(m => m.roles.includes('student') && (!pupilClassFilter || m.classId === pupilClassFilter))
      .sort((a, b) => className(a.classId).localeCompare(className(b.classId), 'ru') || a.displayName.localeCompare(b.displayName, 'ru'));
    const open = classes.filter(c => c.kind === 'class' && !c.archived);
    const err = errBox();
    const filter = h('select', { id: 'adm-pupils-class', onchange: () => { pupilClassFilter = filter.value; renderPupils(); } },
      h('option', { value: '' }, 'все классы'), open.map(c => h('option', { value: c.id, selected: c.id === pupilClassFilter }, c.name)));
    fill(pupilsSec, h('h2', { id: 'adm-pupils' }, 'Ученики'),
      h('p', { class: 'muted' }, 'Перевод в другой класс и выбытие из школы. Родители ученика следуют за ним: переходят в чаты нового класса или выходят из школы (если в ней нет других их детей).'),
      h('div', { class: 'row' }, h('label', { for: 'adm-pupils-class' }, 'Показать учеников'), filter),
      err,
      pupils.length === 0 ? h('p', { class: 'muted' }, 'Учеников нет.') : h('div', { class: 'table-wrap' }, h('table', { class: 'pupils' },
        h('thead', {}, h('tr', {}, ['Ученик', 'Класс', 'Родители', 'Перевести в', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, pupils.map(p => {
          const target = h('select', { 'aria-label': 'Куда перевести: ' + p.displayName },
            h('option', { value: '' }, 'выберите класс'), open.filter(c => c.id !== p.classId).map(c => h('option', { value: c.id }, c.name)));
          return h('tr', { dataset: { accountId: p.accountId } },
            h('td', {}, p.displayName),
            h('td', {}, className(p.classId)),
            h('td', { class: 'parents' }, parentsCell(p)),
            h('td', {}, h('div', { class: 'row' }, target, h('button', {
              class: 'btn small', type: 'button',
              onclick: () => { err.textContent = target.value ? '' : 'Выберите класс, в который переводится ученик.'; if (target.value) movePupil(p, target.value); },
            }, 'Перевести'))),
            h('td', {}, h('button', { class: 'btn small danger', type: 'button', onclick: () => pupilLeaves(p) }, 'Выбыл из школы')));
        })))));
  }

  /** The pupil's parents, each with «Отвязать» for a link made by mistake. */
  function parentsCell(p) {
    const parents = members.filter(m => m.children?.includes(p.accountId));
    if (parents.length === 0) return h('span', { class: 'muted' }, '—');
    return parents.map(par => h('div', { class: 'row' }, h('span', {}, par.displayName), h('button', {
      class: 'btn small', type: 'button', 'aria-label': `Отвязать ${par.displayName} от ученика ${p.displayName}`, onclick: () => unlinkParent(p, par),
    }, 'Отвязать')));
  }

  async function unlinkParent(p, par) {
    const done = await formDialog({
      title: 'Отвязать родителя: ' + par.displayName,
      text: `${par.displayName} больше не будет родителем ученика ${p.displayName}: выйдет из чатов родителей ${className(p.classId)}, если там нет других его детей, а если его ничто больше не связывает со школой (другие дети, работа в ней) — из школы. Ученик остаётся. Для ошибочных привязок; вернуть можно только новым приглашением.`,
      fields: [{ name: 'reason', label: 'Причина (в журнал)', maxlength: 500 }],
      submit: 'Отвязать',
      onSubmit: async v => { await api('POST', `${base}/students/${p.accountId}/parents/${par.accountId}/unlink`, { reason: v.reason.trim() || undefined }); },
    });
    if (done) await reloadPeople();
  }

  async function movePupil(p, classId) {
    const from = className(p.classId), to = className(classId);
    const done = await formDialog({
      title: `Перевести ${p.displayName} в ${to}?`,
      text: `${p.displayName}: ученик выйдет из чатов класса ${from} (и из его предметных чатов и групп) и войдёт в чат класса ${to} и чат его родителей; родители ученика — тоже. Сам ученик войдёт и в предметные чаты ${to} этого учебного года, в которых состоит весь класс (чаты прошлых лет — в архиве); в группы ${to} и в предметные чаты одной группы класса его добавит их учитель: «О чате» → «Добавить участников».`,
      submit: 'Перевести',
      onSubmit: async () => { await api('PUT', `${base}/students/${p.accountId}/class`, { classId }); },
    });
    if (done) await reloadPeople();
  }

  async function pupilLeaves(p) {
    const done = await formDialog({
      title: 'Ученик выбывает: ' + p.displayName,
      text: `${p.displayName}: ученик выйдет из школы и всех её чатов. Родители ученика тоже выйдут, если в школе нет других их детей. Вернуть можно только новым приглашением.`,
      fields: [{ name: 'reason', label: 'Причина (в журнал)', maxlength: 500 }],
      submit: 'Исключить из школы',
      onSubmit: async v => { await api('POST', `${base}/students/${p.accountId}/leave`, { reason: v.reason.trim() || undefined }); },
    });
    if (done) await reloadPeople();
  }

  // ---- the school year ----

  /** «5А» in grade 5 becomes «6А» (as the server does it); a name that does not start with its grade keeps it. */
  function nextName(c) {
    const g = String(c.grade);
    return c.name.startsWith(g) && !/^\d/.test(c.name.slice(g.length)) ? String(c.grade + 1) + c.name.slice(g.length) : c.name;
  }

  function renderYear(result) {
    if (teacherOnly) return;
    const finalGrade = h('input', { type: 'number', id: 'adm-final-grade', min: 1, max: 12, value: 11, style: 'width:5rem' });
    const err = errBox();
    // The year a rollover now moves the school into (as the server counts it): classes made for it already stay.
    const target = new Date().getUTCFullYear();
    const yearName = `${target}/${String((target + 1) % 100).padStart(2, '0')}`;
    const active = classes.filter(c => c.kind === 'class' && !c.archived && c.schoolYear < target);
    const plan = () => {
      const fin = Number(finalGrade.value) || 11;
      return active.map(c => (c.grade == null ? `${c.name} — без параллели, не меняется` : c.grade >= fin ? `${c.name} → выпуск` : `${c.name} → ${nextName(c)}`));
    };
    fill(yearSec, h('h2', { id: 'adm-year' }, 'Учебный год'),
      h('p', { class: 'muted' }, 'В конце учебного года классы переходят в следующую параллель (5А → 6А), выпускные классы уходят в архив, их ученики (и родители без других детей в школе) выходят из школы. Предметные чаты прошедшего года («Физика 5А») уходят в архив: история в них остаётся, писать и добавлять в них нельзя; на новый год учителя создают новые.'),
      result && h('div', { class: 'banner', role: 'status' },
        h('strong', {}, `Готово: переведено классов — ${result.promoted}, выпущено — ${result.graduated}, выбыло учеников — ${result.pupilsLeft}.`),
        h('ul', { class: 'list-plain' }, result.classes.map(x => h('li', {}, x)))),
      h('form', {
        class: 'row',
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          const fin = Number(finalGrade.value);
          const done = await formDialog({
            title: 'Перейти на новый учебный год?',
            text: `Школа перейдёт на ${yearName} учебный год. Это нельзя отменить. ${plan().join('; ') || 'Переводить нечего'}. Предметные чаты переводимых классов уйдут в архив: история в них сохранится, писать в них будет нельзя.`,
            submit: 'Перейти на новый год',
            onSubmit: () => api('POST', `${base}/rollover`, { finalGrade: fin }),
          });
          if (!done) return;
          await loadMembers();
          await loadClasses();
          renderStaff();
          renderPupils();
          renderYear(done);
          // Classes renamed and graduated: the links (a graduated class's are revoked) and requests name them anew.
          await guard(invitesSec, loadInvites);
          if (!teacherOnly) await guard(requestsSec, loadRequests);
        },
      }, h('label', { for: 'adm-final-grade' }, 'Выпускной класс'), finalGrade,
      h('button', { class: 'btn danger', type: 'submit' }, 'Перейти на новый учебный год')),
      err);
  }

  // ---- the school's rules (moderation cites them) ----

  async function loadRules() {
    const rules = await api('GET', `${base}/rules`);
    const err = errBox();
    const next = rules.reduce((a, r) => Math.max(a, r.number), 0) + 1;
    const number = h('input', { type: 'number', id: 'adm-rule-number', min: 1, max: 100, value: Math.min(next, 100), style: 'width:5rem', required: true });
    const text = h('textarea', { id: 'adm-rule-text', rows: 2, maxlength: 1000, required: true });
    const save = async (n, t) => { err.textContent = ''; try { await api('PUT', `${base}/rules`, { number: n, text: t.trim() }); await loadRules(); } catch (e) { err.textContent = errText(e); } };
    fill(rulesSec, h('h2', { id: 'adm-rules' }, 'Правила школы'),
      h('p', { class: 'muted' }, 'Модераторы ссылаются на эти правила, когда удаляют сообщения, записывают нарушения и ограничивают участников. Изменённое правило сохраняется как новое; прежние решения остаются с прежним текстом.'),
      err,
      rules.length === 0 ? h('p', { class: 'muted' }, 'Правил пока нет.') : h('ol', { class: 'list-plain rules-edit' }, rules.map(r => {
        const edit = h('textarea', { rows: 2, maxlength: 1000, 'aria-label': `Текст правила ${r.number}` });
        edit.value = r.text;
        return h('li', { class: 'rule-row', dataset: { ruleId: r.id } },
          h('strong', {}, `${r.number}.`), edit,
          h('div', { class: 'row' },
            h('button', { class: 'btn small', type: 'button', 'aria-label': `Сохранить правило ${r.number}`, onclick: () => save(r.number, edit.value) }, 'Сохранить'),
            h('button', {
              class: 'btn small danger', type: 'button', 'aria-label': `Удалить правило ${r.number}`,
              onclick: async () => {
                const done = await formDialog({
                  title: `Удалить правило ${r.number}?`,
                  text: `«${r.text}» больше нельзя будет указать при модерации; прежние решения его сохранят.`,
                  submit: 'Удалить правило',
                  onSubmit: async () => { await api('DELETE', `${base}/rules/${r.id}`); },
                });
                if (done) await loadRules();
              },
            }, 'Удалить')));
      })),
      h('form', {
        class: 'rule-new',
        onsubmit: async ev => { ev.preventDefault(); await save(Number(number.value), text.value); },
      }, h('h3', {}, 'Новое правило'),
      h('div', { class: 'row' }, h('label', { for: 'adm-rule-number' }, 'Номер'), number),
      labelled('Текст правила', text),
      h('button', { class: 'btn primary', type: 'submit' }, 'Добавить правило')));
  }

  async function loadInvites(note) {
    const invites = await api('GET', `${base}/invites`);
    const mine = teacherOnly ? members.find(m => m.accountId === session.account?.id)?.classTeacherOf || [] : null;
    const pupilClasses = classes.filter(c => c.kind !== 'staff_room' && !c.archived && (!mine || mine.includes(c.id)));
    const role = h('select', { id: 'adm-inv-role' },
      h('option', { value: 'student' }, 'ученик'), h('option', { value: 'parent' }, 'родитель'), !teacherOnly && h('option', { value: 'teacher' }, 'учитель'));
    const cls = h('select', { id: 'adm-inv-class' }, pupilClasses.map(c => h('option', { value: c.id }, c.name)));
    const uses = h('input', { type: 'number', min: 1, max: 10000, id: 'adm-inv-uses', style: 'width:7rem' });
    const hours = h('input', { type: 'number', min: 1, max: 8784, id: 'adm-inv-hours', style: 'width:7rem' });
    role.addEventListener('change', () => { cls.disabled = role.value === 'teacher'; });
    const err = errBox();
    const qr = h('div', { 'aria-live': 'polite' });
    const unused = invites.filter(i => i.state === 'active' && i.uses === 0);
    // The admin revokes the school's unused links or one class's; a class teacher, those of a class of theirs.
    const scopes = [...(teacherOnly ? [] : [{ value: '', label: 'все ссылки школы' }]),
      ...pupilClasses.filter(c => unused.some(i => i.classId === c.id)).map(c => ({ value: c.id, label: 'только ссылки класса ' + c.name }))];
    const revokeUnused = async () => {
      err.textContent = '';
      const revoked = await formDialog({
        title: 'Отозвать неиспользованные ссылки?',
        text: 'Ссылки, по которым ещё никто не вступил, перестанут работать. Ссылки, которыми уже пользовались, продолжат действовать; тех, кто уже вступил, это не коснётся.',
        fields: [{ name: 'classId', label: 'Какие ссылки отозвать', type: 'select', options: scopes, value: scopes[0]?.value }],
        submit: 'Отозвать',
        onSubmit: async v => (await api('POST', `${base}/invites/revoke-unused`, { classId: v.classId || undefined })).revoked,
      });
      if (revoked === null) return;
      await loadInvites(`Отозвано ссылок: ${revoked}.`);
      invitesSec.querySelector('h2').focus();
    };
    fill(invitesSec, h('h2', { id: 'adm-invites', tabindex: -1 }, 'Ссылки-приглашения'),
      teacherOnly && pupilClasses.length === 0 && h('p', { class: 'muted' }, 'Приглашать учеников и родителей может классный руководитель своего класса.'),
      h('form', {
        class: 'row',
        onsubmit: oneAtATime(async () => {
          err.textContent = '';
          try {
            await api('POST', `${base}/invites`, {
              role: role.value, classId: role.value === 'teacher' ? undefined : cls.value,
              maxUses: uses.value ? Number(uses.value) : undefined, expiresInHours: hours.value ? Number(hours.value) : undefined,
            });
            await loadInvites();
          } catch (e) { err.textContent = errText(e); }
        }),
      },
      h('label', { for: 'adm-inv-role' }, 'Роль'), role,
      h('label', { for: 'adm-inv-class' }, 'Класс'), cls,
      h('label', { for: 'adm-inv-uses' }, 'Использований'), uses,
      h('label', { for: 'adm-inv-hours' }, 'Часов действия'), hours,
      h('button', { class: 'btn primary', type: 'submit' }, 'Создать ссылку')),
      err, note && h('p', { role: 'status' }, note), qr,
      unused.length > 0 && scopes.length > 0 && h('div', { class: 'row' }, h('button', { class: 'btn small', type: 'button', onclick: revokeUnused }, 'Отозвать неиспользованные')),
      invites.length === 0 ? h('p', { class: 'muted' }, 'Ссылок пока нет.') : h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Роль', 'Класс', 'Ссылка', 'Использована', 'Состояние', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, invites.map(i => h('tr', {},
          h('td', {}, ROLE_NAMES[i.role] || i.role),
          h('td', {}, className(i.classId)),
          h('td', {}, h('input', { type: 'text', readonly: true, value: i.url, 'aria-label': 'Ссылка-приглашение', style: 'width:100%', onfocus: ev => ev.target.select() })),
          h('td', {}, `${i.uses}${i.maxUses ? ' из ' + i.maxUses : ''}`),
          h('td', {}, STATE_NAMES[i.state] || i.state),
          h('td', {}, h('div', { class: 'row' },
            h('button', {
              class: 'btn small', type: 'button',
              onclick: async () => {
                try {
                  const png = await api('GET', `${base}/invites/${i.id}/qr`);
                  fill(qr, h('figure', {}, h('img', { class: 'qr', src: URL.createObjectURL(png), alt: 'QR-код ссылки-приглашения' }),
                    h('figcaption', { class: 'muted' }, `QR-код: ${ROLE_NAMES[i.role] || i.role} ${className(i.classId)}`)));
                } catch (e) { err.textContent = errText(e); }
              },
            }, 'QR-код'),
            i.state === 'active' && h('button', {
              class: 'btn small', type: 'button',
              onclick: async () => { try { await api('DELETE', `${base}/invites/${i.id}`); await loadInvites(); } catch (e) { err.textContent = errText(e); } },
            }, 'Отозвать')))))))));
  }

  async function loadRequests() {
    let requests;
    try {
      requests = await api('GET', `${base}/join-requests?status=pending`);
    } catch (e) {
      fill(requestsSec, h('h2', { id: 'adm-requests' }, 'Заявки на вступление'), h('p', { class: 'muted' }, errText(e)));
      return;
    }
    const err = errBox();
    const rows = [];
    for (const r of requests) {
      // A parent through the class-wide link: the approver picks the child among the class's pupils, and for twins or
      // siblings of the class «+ ещё ребёнок» adds a picker: one approval links the parent to each.
      let child = null, pickedChildren;
      if (r.role === 'parent' && !r.childId && r.classId) {
        const pupils = (await api('GET', `${base}/members?classId=${r.classId}`)).filter(m => m.roles.includes('student'));
        // Nobody is picked unless a pupil's name is exactly the one the parent gave: a stranger must not be linked to
        // whichever child happens to come first in the list.
        const picker = first => h('select', { 'aria-label': first ? `Ребёнок для ${r.displayName}` : `Ещё ребёнок для ${r.displayName}` },
          h('option', { value: '' }, first ? '— выберите ребёнка —' : '—'),
          pupils.map(m => h('option', { value: m.accountId, selected: first && m.displayName === r.childName }, m.displayName)));
        const pickers = h('div', { class: 'child-picks' }, picker(true));
        const more = h('button', {
          class: 'btn link small', type: 'button',
          onclick: () => {
            const added = picker(false);
            pickers.append(added);
            more.hidden = pickers.children.length >= Math.min(pupils.length, 10);
            added.focus();
          },
        }, '+ ещё ребёнок');
        more.hidden = pupils.length < 2;
        child = h('div', {}, pickers, more);
        pickedChildren = () => [...new Set([...pickers.querySelectorAll('select')].map(x => x.value).filter(Boolean))];
      }
      rows.push(h('tr', {},
        h('td', {}, r.displayName),
        h('td', {}, ROLE_NAMES[r.role] || r.role),
        h('td', {}, className(r.classId)),
        h('td', {}, r.childName ? `указал(а) ребёнка: ${r.childName}` : '', child),
        h('td', {}, shortTime(r.createdAt)),
        h('td', {}, h('div', { class: 'row' },
          h('button', {
            class: 'btn small primary', type: 'button',
            onclick: async ev => {
              const button = ev.currentTarget;
              button.disabled = true; // a second click would only be told the request was decided already
              try {
                await api('POST', `${base}/join-requests/${r.id}/approve`, { childIds: pickedChildren?.() });
                await loadRequests();
                if (!teacherOnly) await reloadPeople();
              } catch (e) { err.textContent = errText(e); button.disabled = false; }
            },
          }, 'Одобрить'),
          h('button', { class: 'btn small', type: 'button', onclick: () => rejectRequest(r) }, 'Отклонить')))));
    }
    fill(requestsSec, h('h2', { id: 'adm-requests', tabindex: -1 }, 'Заявки на вступление'), err,
      requests.length === 0 ? h('p', { class: 'muted' }, 'Новых заявок нет.') : h('table', {},
        h('thead', {}, h('tr', {}, ['Кто', 'Роль', 'Класс', 'Ребёнок', 'Когда', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, rows)));
  }

  // Rejecting asks for the reason in a dialog (the person sees it); a blank one is refused there by the server.
  async function rejectRequest(r) {
    const done = await formDialog({
      title: 'Отклонить заявку: ' + r.displayName,
      text: `${r.displayName} не вступит в школу по этой заявке и увидит причину отказа.`,
      fields: [{ name: 'reason', label: 'Причина отказа (обязательно)', type: 'textarea', maxlength: 500 }],
      submit: 'Отклонить заявку',
      onSubmit: async v => { await api('POST', `${base}/join-requests/${r.id}/reject`, { reason: v.reason.trim() }); },
    });
    if (!done) return;
    await loadRequests();
    requestsSec.querySelector('h2').focus();
  }

  async function loadChannels() {
    const chats = (await api('GET', `/api/chats?schoolId=${school.schoolId}`)).filter(c => c.kind === 'channel');
    const err = errBox();
    const title = h('input', { type: 'text', id: 'adm-channel-title', maxlength: 200, required: true });
    const audience = h('select', { id: 'adm-channel-audience' },
      h('option', { value: 'all' }, 'вся школа'), h('option', { value: 'staff' }, 'сотрудники'),
      h('option', { value: 'parent' }, 'родители'), h('option', { value: 'student' }, 'ученики'));
    const staff = members.filter(m => m.roles.some(r => ['admin', 'teacher', 'director'].includes(r)));
    const rows = await Promise.all(chats.map(async ch => {
      const people = await api('GET', `/api/chats/${ch.id}/members`);
      const writers = people.filter(p => p.role !== 'member');
      const pick = h('select', { 'aria-label': 'Кто ещё может писать в канал ' + ch.title },
        h('option', { value: '' }, 'выберите сотрудника'),
        staff.filter(s => people.some(p => p.accountId === s.accountId && p.role === 'member')).map(s => h('option', { value: s.accountId }, s.displayName)));
      const setRole = async (accountId, role) => {
        err.textContent = '';
        try { await hubInvoke('SetChatMemberRole', ch.id, accountId, role); } catch (e) { err.textContent = errText(e); return; }
        await guard(channelsSec, loadChannels);
        await guard(auditSec, () => loadAudit());
      };
      return h('tr', { dataset: { chatId: ch.id } },
        h('td', {}, ch.title),
        h('td', {}, `${ch.memberCount}`),
        h('td', {}, writers.map(w => h('div', { class: 'row' }, w.displayName, h('span', { class: 'muted' }, w.role === 'owner' ? ' (владелец)' : ''),
          w.role === 'moderator' && h('button', { class: 'btn link small', type: 'button', onclick: () => setRole(w.accountId, 'member') }, 'Запретить писать')))),
        h('td', {}, h('div', { class: 'row' }, pick, h('button', { class: 'btn small', type: 'button', onclick: () => pick.value && setRole(pick.value, 'moderator') }, 'Разрешить писать'))));
    }));
    fill(channelsSec, h('h2', { id: 'adm-channels' }, 'Системные каналы'),
      h('p', { class: 'muted' }, 'В канал пишут его владельцы и те, кому разрешено; остальные читают. Кто позже вступит в школу, сам попадёт в каналы для своей роли.'),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Канал', 'Читателей', 'Пишут', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, rows))),
      h('form', {
        class: 'row', style: 'margin-top:.6rem',
        onsubmit: oneAtATime(async () => {
          err.textContent = '';
          // An audience, not a list of today's people: the server keeps the channel's readers in line with the roster,
          // so a parent who joins next week gets «Новости для родителей» too (docs/policies.md).
          const roles = audience.value === 'all' ? ['student', 'parent', 'staff'] : [audience.value];
          try {
            await api('POST', `${base}/chats`, { kind: 'channel', title: title.value.trim(), audience: { roles } });
          } catch (e) { err.textContent = errText(e); return; }
          await guard(channelsSec, loadChannels);
          await guard(auditSec, () => loadAudit());
        }),
      }, h('label', { for: 'adm-channel-title' }, 'Новый канал'), title, h('label', { for: 'adm-channel-audience' }, 'для'), audience,
      h('button', { class: 'btn', type: 'submit' }, 'Создать канал')),
      err);
  }

  let auditBefore = null;
  let chatTitles = new Map(); // the school's chats (direct ones aside) by id, to name the chat of an entry
  async function loadAudit(more = false) {
    const page = await api('GET', `${base}/audit?limit=50${more && auditBefore ? '&before=' + auditBefore : ''}`);
    if (!more) {
      try { chatTitles = new Map((await api('GET', `${base}/chats`)).map(c => [c.id, c.title])); } catch { /* entries then go without the chat's title */ }
    }
    let tbody = auditSec.querySelector('tbody');
    const err = errBox();
    if (!more || !tbody) {
      tbody = h('tbody');
      fill(auditSec, h('h2', { id: 'adm-audit' }, 'Журнал действий'),
        h('div', { class: 'row' },
          h('button', { class: 'btn small', type: 'button', onclick: () => download(`${base}/audit.csv`, 'audit.csv', err) }, 'Скачать журнал (CSV)')),
        err,
        h('div', { class: 'table-wrap' }, h('table', { class: 'audit' }, h('thead', {}, h('tr', {}, ['Когда', 'Кто', 'Действие', 'Подробности'].map(t => h('th', {}, t)))), tbody)),
        h('button', { class: 'btn small audit-more', type: 'button', hidden: true, onclick: () => loadAudit(true) }, 'Показать ещё'));
    }
    for (const e of page) {
      tbody.append(h('tr', {},
        h('td', {}, new Date(e.at).toLocaleString('ru-RU', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })),
        h('td', {}, e.actorName || '—'),
        h('td', {}, ACTION_NAMES[e.action] || e.action),
        h('td', { class: 'details' }, auditDetails(e))));
    }
    if (page.length) auditBefore = page[page.length - 1].id;
    auditSec.querySelector('.audit-more').hidden = page.length < 50;
  }

  // The journal's CSV writes the same text on the server (AuditDetails.cs): a change here is made there too
  // (AuditActionsTests compares the words).
  function auditDetails(e) {
    let d = {};
    try { d = JSON.parse(e.details || '{}'); } catch { /* plain */ }
    const parts = [];
    if (d.name || d.title) parts.push(d.name || d.title);
    else if (d.chatId && chatTitles.has(d.chatId)) parts.push(`«${chatTitles.get(d.chatId)}»`);
    if (d.number && d.text) parts.push(`${d.number}. ${d.text}`);
    if (d.from && d.to) parts.push(`${className(d.from) || '?'} → ${className(d.to) || '?'}`);
    if (d.role) parts.push(e.action === 'chat.member_role' ? CHAT_ROLE_NAMES[d.role] || 'роль изменена' : ROLE_NAMES[d.role] || d.role);
    if (Array.isArray(d.audience) && d.audience.length) parts.push('для: ' + d.audience.map(r => AUDIENCE_NAMES[r] || r).join(', '));
    if (d.slowModeSeconds > 0) parts.push(`медленный режим: ${d.slowModeSeconds} с`);
    if (d.rulesChanged) parts.push('правила чата изменены');
    if (d.resolution) parts.push(RESOLUTION_NAMES[d.resolution] || '');
    if (Array.isArray(d.settings)) parts.push(...d.settings); // the school's switches that changed, in Russian already
    if (d.messages && DELETED_MESSAGES[d.messages]) parts.push(DELETED_MESSAGES[d.messages]);
    if (e.action === 'invite.revoked_unused') parts.push((e.subjectId && className(e.subjectId) ? className(e.subjectId) + ': ' : '') + `отозвано ссылок: ${d.count ?? 0}`);
    if (d.rule) parts.push('правило ' + d.rule);
    if (d.reason) parts.push('причина: ' + d.reason);
    if (d.until) parts.push('до ' + new Date(d.until).toLocaleDateString('ru-RU'));
    if (d.closesAt) parts.push('до ' + dateTime.format(new Date(d.closesAt)));
    // The person it is about: by the member list, or (gone from the school since) by the name the entry carries.
    if ((e.subjectId && nameOf(e.subjectId)) || e.subjectName) parts.push((e.subjectId && nameOf(e.subjectId)) || e.subjectName);
    return parts.filter(Boolean).join(' · ');
  }

  /** A CSV export, its times in the reader's time zone. */
  async function download(path, name, err) {
    try { saveBlob(await blob(inMyTimeZone(path)), name); } catch (e) { err.textContent = errText(e); }
  }

  async function loadStats() {
    // Days of the browser's time zone: the server counts them in the zone asked for, the labels are its local dates.
    let s, inUtc = false;
    try {
      s = await api('GET', inMyTimeZone(`${base}/statistics`));
    } catch (e) {
      // A zone the server (or its database) does not know (their time-zone data is older than the browser's): UTC days.
      if (e.code !== 'validation_failed' || !e.errors?.tz) throw e;
      s = await api('GET', `${base}/statistics?tz=UTC`);
      inUtc = true;
    }
    const err = errBox();
    const rolesName = { student: 'ученики', parent: 'родители', teacher: 'учителя', admin: 'администраторы', director: 'директор', staff: 'сотрудники' };
    const pupilClasses = s.classes;
    const joined = barChart({
      title: 'Вступили и приглашены по классам',
      labels: pupilClasses.map(c => c.name),
      series: [
        { name: 'Ученики вступили', color: '#2563eb', values: pupilClasses.map(c => c.pupilsJoined) },
        { name: 'Родители вступили', color: '#16a34a', values: pupilClasses.map(c => c.parentsJoined) },
        { name: 'Приглашены, ждут одобрения', color: '#d97706', values: pupilClasses.map(c => c.pendingPupils + c.pendingParents) },
      ],
    });
    const days = [];
    const today = new Date();
    for (let i = 29; i >= 0; i--) {
      days.push(inUtc ? new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10)
        : localDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - i)));
    }
    const perDay = days.map(d => s.messagesPerDay.filter(m => m.day === d).reduce((a, m) => a + m.messages, 0));
    const activity = barChart({
      title: inUtc ? 'Сообщения по дням (30 дней, дни по UTC)' : 'Сообщения по дням (30 дней)',
      labels: days.map(d => d.slice(8, 10) + '.' + d.slice(5, 7)),
      series: [{ name: 'Сообщений', color: '#2563eb', values: perDay }],
      every: 5,
    });
    // Lessons and other calls per day (a call counts once, on the day it started); minutes and attendees in the table.
    const callsOf = d => s.callsPerDay.find(c => c.day === d);
    const calls = barChart({
      title: inUtc ? 'Уроки и звонки по дням (30 дней, дни по UTC)' : 'Уроки и звонки по дням (30 дней)',
      labels: days.map(d => d.slice(8, 10) + '.' + d.slice(5, 7)),
      series: [
        { name: 'Уроков', color: '#067647', values: days.map(d => callsOf(d)?.lessons ?? 0) },
        { name: 'Других звонков', color: '#7c3aed', values: days.map(d => (callsOf(d)?.calls ?? 0) - (callsOf(d)?.lessons ?? 0)) },
      ],
      every: 5,
    });
    const callTotals = s.callsPerDay.reduce((a, c) => ({ calls: a.calls + c.calls, lessons: a.lessons + c.lessons, minutes: a.minutes + c.callMinutes, people: a.people + c.participantMinutes }), { calls: 0, lessons: 0, minutes: 0, people: 0 });
    const kinds = [...new Set(s.messagesPerDay.map(m => m.chatKind))];
    fill(statsSec, h('h2', { id: 'adm-stats' }, 'Статистика'),
      h('div', { class: 'row' }, h('button', { class: 'btn small', type: 'button', onclick: () => download(`${base}/statistics.csv`, 'statistics.csv', err) }, 'Скачать статистику (CSV)')),
      err,
      h('div', { class: 'charts' }, joined, activity, calls),
      h('p', { class: 'muted stats-calls' }, `За 30 дней: звонков ${callTotals.calls}, из них уроков ${callTotals.lessons}; минут звонков ${callTotals.minutes}, минут участников ${callTotals.people}.`),
      h('h3', {}, 'По классам'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'stats-classes' },
        h('thead', {}, h('tr', {}, ['Класс', 'Учеников', 'Родителей', 'Учеников с родителем', 'Вступили по ссылке ученика', 'по ссылке родителя', 'Ждут одобрения'].map(t => h('th', {}, t)))),
        h('tbody', {}, pupilClasses.map(c => h('tr', {}, h('td', {}, c.name), h('td', {}, c.pupilsJoined), h('td', {}, c.parentsJoined), h('td', {}, c.pupilsWithParent),
          h('td', {}, c.pupilLinkUses), h('td', {}, c.parentLinkUses), h('td', {}, c.pendingPupils + c.pendingParents)))))),
      h('h3', {}, 'Активные участники'),
      h('table', { class: 'stats-active' },
        h('thead', {}, h('tr', {}, ['Роль', 'Сегодня', 'За неделю', 'За месяц'].map(t => h('th', {}, t)))),
        h('tbody', {}, s.activeUsers.map(a => h('tr', {}, h('td', {}, rolesName[a.role] || a.role), h('td', {}, a.day), h('td', {}, a.week), h('td', {}, a.month))))),
      kinds.length > 0 && h('p', { class: 'muted' }, 'Сообщения за 30 дней по видам чатов: ' + kinds.map(k => `${KIND_NAMES[k] || k} — ${s.messagesPerDay.filter(m => m.chatKind === k).reduce((a, m) => a + m.messages, 0)}`).join(', ')));
  }

  /** The school's file storage (admins only): used of the quota as a bar with the percent, by kind, the upload limits. */
  async function loadStorage() {
    const s = await api('GET', `${base}/storage`);
    const kindNames = { image: 'Фото', video: 'Видео', audio: 'Аудио', document: 'Документы', preview: 'Превью (уменьшенные копии фото и видео)' };
    const share = s.quotaBytes > 0 ? s.usedBytes / s.quotaBytes * 100 : 0;
    const percent = share > 0 && share < 0.1 ? 'меньше 0,1 %' : `${share.toFixed(1).replace('.', ',')} %`;
    const used = `Занято ${size(s.usedBytes)} из ${size(s.quotaBytes)} (${percent})`;
    fill(storageSec, h('h2', { id: 'adm-storage' }, 'Хранилище'),
      h('p', { class: 'storage-used', id: 'adm-storage-used' }, used),
      h('meter', { class: 'storage-meter', min: 0, max: s.quotaBytes, value: s.usedBytes, low: s.quotaBytes * 0.8, high: s.quotaBytes * 0.95, optimum: 0, 'aria-labelledby': 'adm-storage-used' }, used),
      h('div', { class: 'table-wrap' }, h('table', { class: 'storage-kinds' },
        h('thead', {}, h('tr', {}, ['Вид', 'Файлов', 'Объём'].map(t => h('th', {}, t)))),
        h('tbody', {}, s.byKind.map(k => h('tr', {}, h('td', {}, kindNames[k.kind] || k.kind), h('td', {}, k.files), h('td', {}, size(k.bytes))))))),
      h('p', { class: 'muted' }, 'Наибольший размер файла: ' + Object.entries(s.maxFileBytes).map(([k, v]) => `${(kindNames[k] || k).toLowerCase()} — ${size(v)}`).join(', ') + '. Одинаковые файлы хранятся один раз.'));
  }

  const guard = async (sec, fn) => { try { await fn(); } catch (e) { sec.append(h('p', { class: 'error' }, errText(e))); } };
  if (statsOnly) {
    await guard(statsSec, loadStats);
    root.querySelector('.topbar button')?.focus();
    return;
  }
  try {
    await loadMembers().catch(() => {});
    if (!teacherOnly) await loadInfo();
    await loadClasses();
    if (!teacherOnly) { renderStaff(); renderPupils(); renderYear(); }
    await Promise.all([
      guard(invitesSec, loadInvites), guard(requestsSec, loadRequests),
      !teacherOnly && guard(statsSec, loadStats), !teacherOnly && guard(storageSec, loadStorage), !teacherOnly && guard(channelsSec, loadChannels),
      !teacherOnly && guard(chatsSec, () => loadSchoolChats(chatsSec, { base, openChat, opened: () => guard(auditSec, () => loadAudit()) })), !teacherOnly && guard(auditSec, () => loadAudit()), !teacherOnly && guard(rulesSec, loadRules),
    ]);
  } catch (e) {
    (teacherOnly ? invitesSec : info).append(h('p', { class: 'error' }, errText(e)));
  }
  root.querySelector('.topbar button')?.focus();
}

function labelled(text, input) {
  return h('div', { class: 'field' }, h('label', { for: input.id }, text), input);
}
