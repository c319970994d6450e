// «Профиль»: the signed-in person's own account — the display name, my schools (a parent leaves one herself), notifications
// on this device, the devices and sessions (ending one or all), the data export (a JSON file) and account deletion. Everything asks first in a dialog; ending this session signs out here.

import { api, ApiError, agentName, endSession, saveBlob, session } from './api.js';
import { h, fill, mount, time, plural, dateTime, localDate } from './dom.js';
import { formDialog, notice } from './dialog.js';
import { notificationsOn, notificationsSupported, switchNotifications } from './notify.js';
import { myRequestsSection } from './my-requests.js';

const DELETE_WORD = 'УДАЛИТЬ'; // AccountDeletionService.Confirmation
const DELETED_NAME = 'Удалённый пользователь';
const yearFormat = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * Shows the profile in place of the chats. me: the MeDto the client holds (its name is updated in place on a rename);
 * back() returns to where the person came from.
 */
export async function showProfile(root, me, back) {
  const nameSec = h('section', { 'aria-labelledby': 'me-name-h' });
  const notifySec = h('section', { 'aria-labelledby': 'me-notify-h' });
  const sessionsSec = h('section', { 'aria-labelledby': 'me-sessions-h' });
  const exportSec = h('section', { 'aria-labelledby': 'me-export-h' });
  const deleteSec = h('section', { 'aria-labelledby': 'me-delete-h' });
  const requestsSec = h('div');
  const schoolsSec = h('section', { 'aria-labelledby': 'me-schools-h' });
  const backButton = h('button', { class: 'btn small', onclick: back }, '← Назад');
  mount(root,
    h('header', { class: 'topbar' }, backButton, h('span', { class: 'title' }, 'Профиль')),
    h('div', { class: 'profile' }, nameSec, schoolsSec, requestsSec, notifySec, sessionsSec, exportSec, deleteSec));
  backButton.focus();

  const errText = e => (e instanceof ApiError ? e.display : e?.message || 'Что-то пошло не так.');
  const failed = (sec, heading, headingId) => e => fill(sec, h('h2', { id: headingId }, heading), h('p', { class: 'error', role: 'alert' }, errText(e)));

  renderName().catch(failed(nameSec, 'Имя', 'me-name-h'));
  loadSessions().catch(failed(sessionsSec, 'Устройства и сеансы', 'me-sessions-h'));
  renderSchools().catch(failed(schoolsSec, 'Мои школы', 'me-schools-h'));
  renderRequests();
  renderNotifications();
  renderExport();
  renderDelete().catch(failed(deleteSec, 'Удалить аккаунт', 'me-delete-h'));

  /** «Мои заявки»: a parent in one school waiting for a second one sees it here (the choice of school needs two). */
  async function renderRequests() {
    let mine = [];
    try { mine = (await api('GET', '/api/me/schools')).map(s => s.schoolId); } catch { /* shown without: a refused one too */ }
    const section = await myRequestsSection(mine, renderRequests);
    fill(requestsSec, section);
  }

  /**
   * «Мои школы»: each school with my roles in it. A parent leaves a school herself («Выйти из школы…»: her child moved to
   * another school); staff and pupils leave through the school's admins, as the server says (leave_needs_admin).
   */
  async function renderSchools() {
    const schools = await api('GET', '/api/me/schools');
    const roles = s => [s.isAdmin && 'администратор', s.isTeacher && 'учитель', s.isStudent && 'ученик', s.isParent && 'родитель'].filter(Boolean).join(', ');
    const onlyParent = s => s.isParent && !s.isAdmin && !s.isTeacher && !s.isStudent;
    fill(schoolsSec, h('h2', { id: 'me-schools-h', tabindex: -1 }, 'Мои школы'),
      schools.length === 0
        ? h('p', { class: 'muted' }, 'Вы пока не состоите ни в одной школе.')
        : h('ul', { class: 'list-plain my-schools' }, schools.map(s => h('li', { class: 'row', dataset: { schoolId: s.schoolId } },
          h('span', { style: 'flex:1' }, h('strong', {}, s.name), h('br'), h('span', { class: 'muted' }, roles(s))),
          onlyParent(s) && h('button', { class: 'btn small', type: 'button', onclick: () => leaveSchool(s) }, 'Выйти из школы…')))),
      schools.some(s => !onlyParent(s)) && h('p', { class: 'muted hint' }, 'Сотрудники и ученики выходят из школы через её администратора.'));
  }

  async function leaveSchool(s) {
    const done = await formDialog({
      title: `Выйти из школы «${s.name}»?`,
      text: 'Вы перестанете быть родителем в этой школе: чаты классов ваших детей и личные переписки в ней станут недоступны, '
        + 'уведомления из неё приходить не будут. Вернуться можно только по новой ссылке-приглашению от школы.',
      fields: [{ name: 'reason', label: 'Причина (необязательно, её увидят администраторы школы)', type: 'textarea', maxlength: 500 }],
      submit: 'Выйти из школы',
      onSubmit: v => api('POST', `/api/schools/${s.schoolId}/leave`, { reason: v.reason.trim() || null }),
    });
    if (!done) return;
    if (localStorage.getItem('chat.school') === s.schoolId) localStorage.removeItem('chat.school');
    notice(`Вы вышли из школы «${s.name}».`, { kind: 'info' });
    await renderSchools().catch(failed(schoolsSec, 'Мои школы', 'me-schools-h'));
    schoolsSec.querySelector('h2')?.focus?.();
  }

  async function renderName() {
    const fresh = await api('GET', '/api/me');
    Object.assign(me, fresh);
    const name = h('input', { type: 'text', id: 'me-name', autocomplete: 'name', maxlength: 100, required: true, value: me.displayName });
    const err = h('p', { class: 'error', role: 'alert' });
    const saved = h('p', { class: 'ok', role: 'status' });
    fill(nameSec, h('h2', { id: 'me-name-h' }, 'Имя'),
      h('form', {
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          saved.textContent = '';
          try {
            Object.assign(me, await api('PATCH', '/api/me', { displayName: name.value.trim() }));
            session.account = me;
            name.value = me.displayName;
            saved.textContent = 'Имя сохранено.';
          } catch (e) {
            err.textContent = errText(e);
            name.focus();
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'me-name' }, 'Имя и фамилия'), name),
      h('p', { class: 'muted hint' }, 'Имя видят учителя, одноклассники и родители в чатах ваших школ.'),
      err, saved,
      h('button', { class: 'btn primary', type: 'submit' }, 'Сохранить')),
      (me.phone || me.email) && h('dl', { class: 'facts' },
        me.phone && [h('dt', {}, 'Телефон'), h('dd', {}, me.phone)],
        me.email && [h('dt', {}, 'Эл. почта'), h('dd', {}, me.email)]),
      h('p', { class: 'muted hint' }, 'Телефон и почту видите только вы: по ним вы входите в мессенджер.'));
  }

  async function loadSessions() {
    const list = await api('GET', '/api/me/sessions');
    const heading = h('h2', { id: 'me-sessions-h', tabindex: -1 }, 'Устройства и сеансы');
    const others = list.filter(s => !s.isCurrent);
    const everywhere = h('button', { class: 'btn danger', type: 'button', onclick: endAll }, 'Выйти на всех устройствах');
    fill(sessionsSec, heading,
      h('p', { class: 'muted hint' }, `Где выполнен вход: ${list.length} ${plural(list.length, 'сеанс', 'сеанса', 'сеансов')}. Если какое-то устройство вам незнакомо, завершите его сеанс.`),
      h('ul', { class: 'list-plain sessions' }, list.map(s => h('li', { class: 'session' + (s.isCurrent ? ' current' : ''), dataset: { sessionId: s.id } },
        h('div', { class: 'session-main' },
          h('strong', {}, deviceName(s.device)),
          s.isCurrent && h('span', { class: 'this-device' }, 'это устройство'),
          h('div', { class: 'muted session-times' },
            'Вход: ', h('time', { datetime: s.createdAt }, when(s.createdAt)),
            ' · активность: ', h('time', { datetime: s.lastSeenAt }, when(s.lastSeenAt)))),
        !s.isCurrent && h('button', { class: 'btn small', type: 'button', onclick: () => endOne(s) }, 'Завершить')))),
      h('div', { class: 'row' }, everywhere),
      others.length === 0 && h('p', { class: 'muted hint' }, 'Других сеансов нет.'));
    return heading;
  }

  async function endOne(s) {
    const done = await formDialog({
      title: 'Завершить сеанс?',
      text: `На устройстве «${deviceName(s.device)}» (вход ${when(s.createdAt)}) мессенджер закроется; чтобы пользоваться им там снова, нужно будет войти заново.`,
      submit: 'Завершить сеанс',
      onSubmit: () => api('DELETE', `/api/me/sessions/${s.id}`),
    });
    if (!done) return;
    notice('Сеанс завершён.', { kind: 'info' });
    // The button that opened the dialog is gone with its row: the focus goes to the list's heading.
    try {
      (await loadSessions()).focus();
    } catch (e) {
      failed(sessionsSec, 'Устройства и сеансы', 'me-sessions-h')(e);
    }
  }

  async function endAll() {
    const done = await formDialog({
      title: 'Выйти на всех устройствах?',
      text: 'Все сеансы будут завершены, и этот тоже: на каждом устройстве, включая это, нужно будет войти заново.',
      submit: 'Выйти везде',
      onSubmit: () => api('POST', '/api/auth/sign-out-everywhere'),
    });
    // The server has ended every session of the account, this one included: this page signs out too.
    if (done) endSession('Вы вышли на всех устройствах.');
  }

  /** The per-device switch; turning it on asks the browser for permission (from the click), a refusal leaves it off. */
  function renderNotifications() {
    const supported = notificationsSupported();
    const toggle = h('input', { type: 'checkbox', id: 'me-notify', role: 'switch', checked: notificationsOn(), disabled: !supported });
    const err = h('p', { class: 'error', role: 'alert' });
    const saved = h('p', { class: 'ok', role: 'status' });
    toggle.addEventListener('change', async () => {
      err.textContent = '';
      saved.textContent = '';
      const on = toggle.checked;
      toggle.disabled = true;
      const refused = await switchNotifications(on);
      toggle.disabled = false;
      toggle.checked = on && !refused;
      if (refused) err.textContent = refused;
      else saved.textContent = on ? 'Уведомления включены.' : 'Уведомления выключены.';
      toggle.focus();
    });
    fill(notifySec, h('h2', { id: 'me-notify-h' }, 'Уведомления'),
      h('div', { class: 'field check' }, h('label', { for: 'me-notify' }, toggle, ' Уведомления на этом устройстве')),
      h('p', { class: 'muted hint' }, supported
        ? 'Пока мессенджер открыт в браузере, новое сообщение придёт уведомлением, если вкладка в фоне или открыт другой чат. '
          + 'Чаты «Без звука» молчат, кроме упоминаний вас. Настройка действует только в этом браузере.'
        : 'Этот браузер не умеет показывать уведомления.'),
      err, saved);
  }

  function renderExport() {
    const button = h('button', { class: 'btn', type: 'button' }, 'Скачать мои данные');
    const err = h('p', { class: 'error', role: 'alert' });
    button.addEventListener('click', async () => {
      err.textContent = '';
      button.disabled = true;
      button.textContent = 'Готовим файл…';
      try {
        const data = await api('GET', '/api/me/export');
        saveBlob(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }), `мои-данные-${localDate(new Date())}.json`);
      } catch (e) {
        err.textContent = errText(e);
      } finally {
        button.disabled = false;
        button.textContent = 'Скачать мои данные';
        button.focus();
      }
    });
    fill(exportSec, h('h2', { id: 'me-export-h' }, 'Мои данные'),
      h('p', { class: 'hint' }, 'Всё, что мессенджер хранит о вас (закон № 152-ФЗ «О персональных данных»): имя, телефон и почта, '
        + 'школы и чаты, ваши сообщения, заявки на вступление и сеансы — одним файлом в формате JSON. Данных других людей в нём нет.'),
      err, button);
  }

  async function renderDelete() {
    const schools = await api('GET', '/api/me/schools');
    // Each school says what happens to a deleted person's messages (docs/policies.md); any member may read it.
    const infos = await Promise.all(schools.map(s => api('GET', `/api/schools/${s.schoolId}`).catch(() => null)));
    const fate = info => (!info
      ? 'не удалось узнать, что станет с вашими сообщениями: это решает школа (удалить или оставить с подписью «' + DELETED_NAME + '»)'
      : info.deletedUserMessages === 'remove'
        ? 'ваши сообщения будут удалены (в чатах останется пометка «Сообщение удалено»)'
        : `ваши сообщения останутся в чатах с подписью «${DELETED_NAME}»`);
    const button = h('button', { class: 'btn danger', type: 'button', onclick: deleteAccount }, 'Удалить аккаунт…');
    fill(deleteSec, h('h2', { id: 'me-delete-h' }, 'Удалить аккаунт'),
      h('p', { class: 'hint' }, 'Аккаунт удаляется сразу и навсегда: восстановить его нельзя, отсрочки нет. Что произойдёт:'),
      h('ul', { class: 'consequences' },
        h('li', {}, 'ваши имя, телефон, электронная почта и фото стираются; все сеансы завершаются на всех устройствах;'),
        h('li', {}, 'вы выходите из всех школ и чатов; созданные вами чаты переходят классному руководителю или администратору школы;'),
        schools.some(s => s.isStudent) && h('li', {}, 'ваши родители выходят из школы вместе с вами, если в ней не учится другой их ребёнок;'),
        schools.length === 0
          ? h('li', {}, 'вы сейчас не состоите ни в одной школе.')
          : schools.map((s, i) => h('li', { class: 'school-fate' }, `«${s.name}»: ${fate(infos[i])}.`))),
      schools.some(s => s.isAdmin) && h('p', { class: 'hint' }, 'Если вы единственный администратор школы, сначала назначьте другого администратора: иначе удаление не пройдёт.'),
      h('p', { class: 'hint' }, 'Перед удалением можно скачать свои данные (выше).'),
      button);
  }

  async function deleteAccount() {
    const done = await formDialog({
      title: 'Удалить аккаунт навсегда?',
      text: `Это нельзя отменить. Чтобы подтвердить, введите слово «${DELETE_WORD}» заглавными буквами.`,
      fields: [{ name: 'confirmation', label: `Слово «${DELETE_WORD}»`, required: true, maxlength: 20 }],
      submit: 'Удалить аккаунт',
      onSubmit: v => api('POST', '/api/me/delete', { confirmation: v.confirmation.trim() }),
    });
    if (!done) return;
    localStorage.removeItem('chat.outbox.' + me.id);
    endSession('Аккаунт удалён. Ваши данные стёрты, все сеансы завершены.');
  }
}

/** The session's device as people would name it: the sign-in's label, a raw user agent made short, or «unknown». */
function deviceName(device) {
  if (!device) return 'Неизвестное устройство';
  return /^Mozilla\//.test(device) ? 'Браузер: ' + agentName(device) : device;
}

/** «только что», «5 минут назад», «сегодня в 14:05», «вчера в 09:30», «3 марта, 10:15» — in local time. */
function when(iso) {
  const d = new Date(iso);
  const now = new Date();
  const minutes = Math.floor((now - d) / 60_000);
  if (minutes < 1) return 'только что';
  if (minutes < 60) return `${minutes} ${plural(minutes, 'минуту', 'минуты', 'минут')} назад`;
  const day = x => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(now) - day(d)) / 86_400_000);
  if (days === 0) return 'сегодня в ' + time(iso);
  if (days === 1) return 'вчера в ' + time(iso);
  return (d.getFullYear() === now.getFullYear() ? dateTime : yearFormat).format(d);
}
