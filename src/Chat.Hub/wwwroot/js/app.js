// The web client: sign-in, school choice, invite links, chats; the admin pages live in admin.js.

import { api, ApiError, session, requestCode, verifyCode, signOut, identityOf } from './api.js';
import { h, fill, mount, screenCount, ROLE_NAMES } from './dom.js';
import { myRequestsSection } from './my-requests.js';
import { unreadOf, unreadBadge } from './notify.js';
import { showMain, stopChat } from './chat.js';
import { LIVE_NAMES, liveMark } from './chat-calls.js';
import { showProfile } from './profile.js';
import { clearKeptUploads } from './kept-uploads.js';
import { forgetFiles } from './files.js';
import { offlineStore } from './offline.js';

const root = document.getElementById('app');
const SCHOOL_KEY = 'chat.school';
const INVITE_KEY = 'chat.invite';

// An invite link /join/{token} is remembered until the person has signed in and decided.
const joinMatch = /^\/join\/([A-Za-z0-9_-]{16,64})\/?$/.exec(location.pathname);
if (joinMatch) {
  sessionStorage.setItem(INVITE_KEY, joinMatch[1]);
  history.replaceState(null, '', '/');
}

// A notification clicked with no page open (sw.js) opens /?chat=…&school=…: that school, then that chat, once the list has it.
const opened = new URLSearchParams(location.search);
if (location.pathname === '/' && opened.get('chat')) {
  sessionStorage.setItem('chat.open', opened.get('chat'));
  if (opened.get('school')) localStorage.setItem(SCHOOL_KEY, opened.get('school'));
  history.replaceState(null, '', '/');
}

// Why the session ended, when the client knows (signed out everywhere, account deleted): shown on the sign-in screen
// until a code is asked for. A second end without a reason right after (a request that met the ended session) keeps it.
let signedOutNote = '';

session.onSignedOut(note => {
  stopChat();
  localStorage.removeItem(SCHOOL_KEY);
  clearKeptUploads(); // unfinished uploads (their files) are the account's data too
  forgetFiles(); // so are the photos and voice notes this page fetched
  // So are messages not sent yet: on a shared family tablet they must neither stay readable after signing out nor go
  // out by themselves at the next sign-in.
  for (const key of Object.keys(localStorage)) if (key.startsWith('chat.outbox.') || key.startsWith('chat.child.')) localStorage.removeItem(key);
  signedOutNote = note || signedOutNote;
  route();
});

export function field(label, input, id) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

function errorBox() {
  return h('p', { class: 'error', role: 'alert' });
}

function showError(box, e) {
  box.textContent = e instanceof ApiError ? e.display : (e?.message || 'Что-то пошло не так.');
}

/** Decides which screen to show from what is known: signed in? named? invite pending? school chosen? */
export async function route() {
  if (!session.signedIn) return showSignIn();
  // A screen opened while this loads (a school picked, then «Профиль» at once) is where the person is: it stays.
  const shown = screenCount();
  const superseded = () => screenCount() !== shown;
  // Either request lost on the way (a weak network: one answered, the next did not) shows the device's copy, or says so
  // with «Повторить» — never «Загрузка…» for good.
  const unreachable = async e => {
    if (!session.signedIn) return showSignIn();
    if (superseded()) return;
    if ((e.status === 0 || e.status >= 500) && await routeOffline(superseded)) return;
    return mount(root, h('div', { class: 'card' }, h('h1', {}, 'Нет связи с сервером'),
      h('p', {}, e.display || ''), h('button', { class: 'btn primary', onclick: route }, 'Повторить')));
  };
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (e) {
    return unreachable(e);
  }
  session.account = me;
  if (superseded()) return;
  if (me.displayName === 'Новый пользователь') return showName(me);
  const invite = sessionStorage.getItem(INVITE_KEY);
  if (invite) return showInvite(invite);
  let schools;
  try {
    schools = await api('GET', '/api/me/schools');
  } catch (e) {
    return unreachable(e);
  }
  offlineStore(me.id).saveSchools(schools);
  if (superseded()) return;
  const chosen = schools.find(s => s.schoolId === localStorage.getItem(SCHOOL_KEY));
  if (chosen) return showMain(root, me, chosen, schools, mainNav(schools, me));
  if (schools.length === 1) {
    localStorage.setItem(SCHOOL_KEY, schools[0].schoolId);
    return route();
  }
  return showSchools(schools, me, false);
}

/** What the main screen may do besides chats: choose another school, open another school's chat, sign out. */
function mainNav(schools, me, offline = false) {
  // openSchool: a notification of another school's chat switches to that school and opens the chat there.
  const openSchool = (schoolId, chatId) => { localStorage.setItem(SCHOOL_KEY, schoolId); sessionStorage.setItem('chat.open', chatId); route(); };
  return { chooseSchool: () => showSchools(schools, me, true), openSchool, signOut, offline, reroute: route };
}

/**
 * The server cannot be reached: the chosen school's chats as this device last saw them (offline.js), when it kept
 * them for this account; the chat screen says so and catches up once the connection is back.
 */
async function routeOffline(superseded) {
  const me = session.account;
  if (!me?.id) return false;
  const schools = await offlineStore(me.id).schools();
  if (superseded()) return true; // the person has gone to another screen meanwhile
  const chosen = schools?.find(s => s.schoolId === localStorage.getItem(SCHOOL_KEY));
  if (!chosen || !session.signedIn) return false;
  showMain(root, me, chosen, schools, mainNav(schools, me, true));
  return true;
}

function showSignIn() {
  const who = h('input', { type: 'text', autocomplete: 'username', inputmode: 'email', required: true, placeholder: '+7 900 123-45-67 или почта@example.ru' });
  const err = errorBox();
  const submit = h('button', { class: 'btn primary', type: 'submit' }, 'Получить код');
  const form = h('form', {
    class: 'card', 'aria-labelledby': 'signin-title',
    onsubmit: async ev => {
      ev.preventDefault();
      submit.disabled = true;
      err.textContent = '';
      signedOutNote = '';
      const identity = identityOf(who.value);
      try {
        await requestCode(identity);
        showCode(identity, who.value.trim());
      } catch (e) {
        showError(err, e);
        submit.disabled = false;
      }
    },
  },
  h('h1', { id: 'signin-title' }, 'Вход в школьный мессенджер'),
  signedOutNote && h('p', { class: 'signed-out-note', role: 'status' }, signedOutNote),
  field('Телефон или e-mail', who, 'signin-identity'),
  err, submit);
  mount(root, form);
  who.focus();
}

function showCode(identity, shown) {
  const code = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}', required: true });
  const err = errorBox();
  const submit = h('button', { class: 'btn primary', type: 'submit' }, 'Войти');
  const form = h('form', {
    class: 'card', 'aria-labelledby': 'code-title',
    onsubmit: async ev => {
      ev.preventDefault();
      submit.disabled = true;
      err.textContent = '';
      try {
        await verifyCode(identity, code.value.trim());
        route();
      } catch (e) {
        showError(err, e);
        submit.disabled = false;
        code.select();
      }
    },
  },
  h('h1', { id: 'code-title' }, 'Введите код'),
  h('p', { class: 'muted' }, `Мы отправили шестизначный код на ${shown}. Код действует 10 минут.`),
  field('Код из сообщения', code, 'signin-code'),
  err,
  h('div', { class: 'row' }, submit, h('button', { class: 'btn link', type: 'button', onclick: showSignIn }, 'Изменить телефон или e-mail')));
  mount(root, form);
  code.focus();
}

function showName(me) {
  const name = h('input', { type: 'text', autocomplete: 'name', maxlength: 100, required: true });
  const err = errorBox();
  const form = h('form', {
    class: 'card', 'aria-labelledby': 'name-title',
    onsubmit: async ev => {
      ev.preventDefault();
      err.textContent = '';
      try {
        session.account = await api('PATCH', '/api/me', { displayName: name.value.trim() });
        route();
      } catch (e) {
        showError(err, e);
      }
    },
  },
  h('h1', { id: 'name-title' }, 'Как вас зовут?'),
  h('p', { class: 'muted' }, 'Имя и фамилию увидят учителя, одноклассники и родители в чатах школы.'),
  field('Имя и фамилия', name, 'profile-name'),
  err,
  h('button', { class: 'btn primary', type: 'submit' }, 'Продолжить'));
  mount(root, form);
  name.focus();
  void me;
}

function showSchools(schools, me, canCancel) {
  const roles = s => [s.isAdmin && 'администратор', s.isTeacher && 'учитель', s.isStudent && 'ученик', s.isParent && 'родитель'].filter(Boolean).join(', ');
  const card = h('div', { class: 'card', role: 'region', 'aria-labelledby': 'schools-title' },
    h('h1', { id: 'schools-title' }, 'Выберите школу'),
    schools.length === 0
      ? h('p', { class: 'muted no-school' }, 'Вы пока не состоите ни в одной школе. Попросите у классного руководителя или администратора школы ссылку-приглашение и откройте её.')
      : h('ul', { class: 'list-plain school-choice' }, schools.map(s => h('li', {},
        h('button', {
          class: 'btn', dataset: { schoolId: s.schoolId }, onclick: () => { localStorage.setItem(SCHOOL_KEY, s.schoolId); route(); },
        }, h('strong', {}, s.name), h('span', { class: 'school-unread' }), h('br'), h('span', { class: 'muted' }, roles(s) + (s.status === 'suspended' ? ' · работа приостановлена' : '')))))),
    h('div', { class: 'row' },
      canCancel && h('button', { class: 'btn link', onclick: route }, 'Назад'),
      h('button', { class: 'btn link', onclick: () => showProfile(root, me, route) }, 'Профиль'),
      h('button', { class: 'btn link', onclick: signOut }, 'Выйти')));
  mount(root, card);
  card.querySelector('button')?.focus();
  if (schools.length) showSchoolUnread(card);
  showMyRequests(card, schools);
}

/** «Мои заявки» on the choice of school; with no school yet, a waiting request is said instead of only «ask for a link». */
async function showMyRequests(card, schools) {
  const section = await myRequestsSection(schools.map(s => s.schoolId), route);
  if (!section || !card.isConnected) return;
  card.querySelector('.row').before(section);
  if (section.waiting) fill(card.querySelector('.no-school') ?? h('p'), 'Вы пока не состоите ни в одной школе: ваша заявка ждёт решения школы.');
}

/**
 * Beside each school on the choice: «●» when a call, lesson or broadcast goes on in one of its chats (as on «Сменить
 * школу»), and its unread messages in chats that are not muted (the chat screen's title counts the same). One
 * `GET /api/chats` without a school lists all my schools' chats with their counts and live calls; a failure shows none.
 */
async function showSchoolUnread(card) {
  let chats;
  try { chats = await api('GET', '/api/chats'); } catch { return; }
  for (const button of card.querySelectorAll('.school-choice button[data-school-id]')) {
    const its = chats.filter(c => c.schoolId === button.dataset.schoolId);
    const live = its.map(c => c.liveCall?.kind).find(Boolean);
    fill(button.querySelector('.school-unread'), live && liveMark(LIVE_NAMES[live]), unreadBadge(unreadOf(its)));
  }
}

async function showInvite(token) {
  const forget = () => { sessionStorage.removeItem(INVITE_KEY); route(); };
  let p;
  try {
    p = await api('GET', `/api/invites/${token}`);
  } catch (e) {
    return mount(root, h('div', { class: 'card' }, h('h1', {}, 'Приглашение'), h('p', { class: 'error' }, e.display || 'Приглашение не найдено.'),
      h('button', { class: 'btn primary', onclick: forget }, 'Продолжить')));
  }
  const states = { expired: 'Срок действия приглашения истёк. Попросите новую ссылку.', used_up: 'Приглашение уже использовано максимальное число раз.', revoked: 'Приглашение отозвано. Попросите новую ссылку.', unavailable: 'Чат этой ссылки в архиве: вступить в него нельзя.' };
  const isChat = p.role === 'chat';
  const classWideParent = p.role === 'parent' && !p.childName;
  const child = h('input', { type: 'text', maxlength: 100, required: true, autocomplete: 'off' });
  const err = errorBox();
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Школа'), h('dd', {}, p.schoolName),
    h('dt', {}, 'Роль'), h('dd', {}, ROLE_NAMES[p.role] || p.role),
    p.className && [h('dt', {}, 'Класс'), h('dd', {}, p.className)],
    p.childName && [h('dt', {}, 'Ребёнок'), h('dd', {}, p.childName)],
    isChat && [h('dt', {}, 'Чат'), h('dd', {}, p.chatTitle)]);
  const form = h('form', {
    class: 'card', 'aria-labelledby': 'invite-title',
    onsubmit: async ev => {
      ev.preventDefault();
      err.textContent = '';
      try {
        const body = isChat ? { acceptRulesVersion: p.rulesVersion } : classWideParent ? { childName: child.value.trim() } : {};
        const r = await api('POST', `/api/invites/${token}/accept`, body);
        sessionStorage.removeItem(INVITE_KEY);
        if (r.status === 'pending') {
          mount(root, h('div', { class: 'card' }, h('h1', {}, 'Заявка отправлена'),
            h('p', {}, 'Школа рассмотрит заявку. Когда её одобрят, школа появится в вашем списке.'),
            h('button', { class: 'btn primary', onclick: route }, 'Продолжить')));
        } else {
          localStorage.setItem(SCHOOL_KEY, r.schoolId);
          if (r.chatId) sessionStorage.setItem('chat.open', r.chatId);
          route();
        }
      } catch (e) {
        showError(err, e);
      }
    },
  },
  h('h1', { id: 'invite-title' }, isChat ? 'Приглашение в чат' : 'Приглашение в школу'),
  facts,
  isChat && p.chatRules && [h('h2', { class: 'muted', style: 'font-size:1rem' }, 'Правила чата'), h('div', { class: 'rules' }, p.chatRules)],
  p.state !== 'active'
    ? [h('p', { class: 'error' }, states[p.state] || 'Приглашение недоступно.'), h('button', { class: 'btn primary', type: 'button', onclick: forget }, 'Продолжить')]
    : [
      classWideParent && field('Имя и фамилия ребёнка', child, 'invite-child'),
      p.requiresApproval && h('p', { class: 'muted' }, 'После принятия школа рассмотрит заявку.'),
      err,
      h('div', { class: 'row' },
        h('button', { class: 'btn primary', type: 'submit' }, isChat ? 'Принимаю правила и вступаю' : 'Принять приглашение'),
        h('button', { class: 'btn link', type: 'button', onclick: forget }, 'Отказаться')),
    ]);
  mount(root, form);
  form.querySelector('input, button')?.focus();
}

route();
