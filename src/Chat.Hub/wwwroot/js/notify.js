// Notifications: a message's one-line preview (the chat list and system notifications show the same), the unread count
// in the tab's title, and system notifications (the Notification API) switched on per device in «Профиль».

import { h, localTimes, plural } from './dom.js';
import { isVoiceNote } from './voice.js';

const SETTING_KEY = 'chat.notifications'; // 'on' on a device where the person switched notifications on
const BASE_TITLE = document.title;
const BODY_MAX = 120;
const REMINDER_KINDS = { lesson: 'Урок', call: 'Звонок', broadcast: 'Трансляция' };

/** A message in one line: «📊 question» for a poll, «🎤 Голосовое сообщение», «📎 caption or file names», else its text. */
export function preview(m) {
  if (m.kind === 'poll') return '📊 ' + m.text;
  if (m.kind === 'files' && isVoiceNote(m.files)) return '🎤 ' + (m.text || 'Голосовое сообщение');
  if (m.kind === 'files') return '📎 ' + (m.text || (m.files || []).map(f => f.name).join(', ') || 'Файл');
  return localTimes(m.text || '');
}

/** Whether I muted the chat (a ChatSummaryDto) and the mute still lasts. */
export function mutedNow(c) {
  return !!c.mutedUntil && new Date(c.mutedUntil).getTime() > Date.now();
}

/** The hour a mute «до утра» ends: 7:00 local time, today if it is still night, else tomorrow. */
const MORNING_HOUR = 7;

/** A mute longer than this is shown as plain «Без звука» (it lasts until switched back). */
const LONG_MUTE_MS = 30 * 86400000;

/**
 * The mute lengths a chat's menu offers: the item's label and when, from `now` (ms), that mute ends. A parent mutes a
 * busy class chat for an evening or a lesson, not only for good.
 */
export const MUTE_CHOICES = [
  ['Без звука на час', now => new Date(now + 3600000)],
  ['Без звука до утра', now => {
    const d = new Date(now);
    if (d.getHours() >= MORNING_HOUR) d.setDate(d.getDate() + 1);
    d.setHours(MORNING_HOUR, 0, 0, 0);
    return d;
  }],
  ['Без звука', now => new Date(now + 365 * 86400000)],
];

/** How long the chat stays silent, for the list's 🔕 («Без звука до 21:30», «… до завтра, 07:00»); '' when not muted. */
export function mutedLabel(c, now = Date.now()) {
  if (!mutedNow(c)) return '';
  const until = new Date(c.mutedUntil);
  if (until.getTime() - now > LONG_MUTE_MS) return 'Без звука';
  const hm = until.toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' });
  const today = new Date(now);
  const tomorrow = new Date(now);
  tomorrow.setDate(tomorrow.getDate() + 1);
  if (until.toDateString() === today.toDateString()) return `Без звука до ${hm}`;
  if (until.toDateString() === tomorrow.toDateString()) return `Без звука до завтра, ${hm}`;
  return `Без звука до ${until.toLocaleDateString('ru-RU', { day: 'numeric', month: 'long' })}, ${hm}`;
}

/** Unread messages of the chats (ChatSummaryDto) that are not muted: what the title and the school counts show. */
export function unreadOf(chats) {
  return chats.reduce((n, c) => (mutedNow(c) ? n : n + c.unreadCount), 0);
}

/** The badge «N» of unread messages, labelled «N непрочитанных» plus where (« в других школах»); null at 0. */
export function unreadBadge(n, where = '', extraClass = '') {
  return n > 0 ? h('span', { class: extraClass ? 'badge ' + extraClass : 'badge', 'aria-label': `${n} ${plural(n, 'непрочитанное', 'непрочитанных', 'непрочитанных')}${where}` }, String(n)) : null;
}

/** «(3) Школьный мессенджер» while 3 messages are unread in chats that are not muted; the plain title at 0. */
export function showUnread(count) {
  const title = count > 0 ? `(${count}) ${BASE_TITLE}` : BASE_TITLE;
  if (document.title !== title) document.title = title;
}

export const notificationsSupported = () => typeof window.Notification === 'function';

/**
 * The service worker that shows notifications where `new Notification()` is not allowed (sw.js): registered once,
 * resolves to its registration, or to null where there is none (no support, not a secure context).
 */
let registration = null;
export function serviceWorker() {
  if (!('serviceWorker' in navigator)) return Promise.resolve(null);
  registration ??= navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready, () => null);
  return registration;
}

/** Whether this device shows system notifications: switched on here and still allowed by the browser. */
export function notificationsOn() {
  return notificationsSupported() && localStorage.getItem(SETTING_KEY) === 'on' && Notification.permission === 'granted';
}

/**
 * Switches notifications on (asking the browser for permission; call it from a click) or off. Resolves to null when
 * done, or to the Russian reason the browser gave none (the setting then stays off).
 */
export async function switchNotifications(on) {
  if (!on) { localStorage.removeItem(SETTING_KEY); return null; }
  if (!notificationsSupported()) return 'Этот браузер не умеет показывать уведомления.';
  let permission = Notification.permission;
  if (permission !== 'granted') {
    try { permission = await Notification.requestPermission(); } catch { permission = 'denied'; }
  }
  if (permission !== 'granted') {
    localStorage.removeItem(SETTING_KEY);
    return permission === 'denied'
      ? 'Браузер запретил уведомления для этого сайта. Разрешите их в настройках сайта в браузере и включите снова.'
      : 'Браузер не дал разрешения на уведомления. Включите снова и выберите «Разрешить».';
  }
  localStorage.setItem(SETTING_KEY, 'on');
  serviceWorker(); // ready by the first notification, for a browser that shows them only through it
  return null;
}

/** Whole minutes (at least 1) until a call reminder's start: «через N минут». */
export function reminderMinutes(r) {
  return Math.max(1, Math.round((new Date(r.startsAt).getTime() - Date.now()) / 60e3));
}

/**
 * The system notifications of the chat screen: new messages and call reminders. me: the account; openChat(chatId)
 * opens a chat (a chat muted now, `mutedNow`, stays silent but for mentions). The setting is read once, when the screen is built (the profile,
 * where it changes, is another screen): with it off, a message costs one check.
 */
export function chatNotifier(me, openChat) {
  const enabled = notificationsOn();
  const shown = new Map(); // tag -> { n, chatId }: what is on screen (one per tag: chat-<id> or call-<planId>)
  let stopped = false; // the chat screen was left (or the session ended): nothing more is shown, a click does nothing
  // Where the page cannot show a notification itself (Chrome on Android), the service worker does; its click comes back
  // here as a message (sw.js).
  const worker = enabled ? serviceWorker() : null;
  const fromWorker = e => { if (!stopped && e.data?.type === 'open-chat' && e.data.chatId) { window.focus(); openChat(e.data.chatId); } };
  if (worker) navigator.serviceWorker.addEventListener('message', fromWorker);

  /** Shows one notification (unless the browser took the permission back); a click opens the chat. */
  function show(chatId, schoolId, tag, title, body) {
    if (stopped || Notification.permission !== 'granted') return; // taken back in the browser's settings meanwhile
    body = body.replace(/\s+/g, ' ');
    if (body.length > BODY_MAX) body = body.slice(0, BODY_MAX - 1).trimEnd() + '…';
    let n;
    try {
      n = new Notification(title, { body, tag, renotify: true, lang: 'ru' });
    } catch {
      // Chrome on Android shows notifications only through a service worker.
      worker?.then(r => r?.showNotification(title, { body, tag, renotify: true, lang: 'ru', data: { chatId, schoolId } })).catch(() => {});
      return;
    }
    shown.set(tag, { n, chatId });
    n.onclick = ev => {
      ev?.preventDefault?.();
      n.close();
      if (stopped) return;
      window.focus();
      openChat(chatId);
    };
    n.onclose = () => { if (shown.get(tag)?.n === n) shown.delete(tag); };
  }

  function close(tag) {
    shown.get(tag)?.n.close();
    shown.delete(tag);
    worker?.then(r => r?.getNotifications({ tag })).then(list => list?.forEach(x => x.close())).catch(() => {});
  }

  return {
    /** A new message of a chat in the list: summary its chat; open: that chat is open in a visible tab. */
    message(m, summary, open) {
      if (!enabled || open || m.senderId === me.id || !m.senderId || m.kind === 'system' || m.deleted) return;
      if (mutedNow(summary) && !m.mentions?.includes(me.id)) return;
      show(m.chatId, summary.schoolId, 'chat-' + m.chatId, summary.title, `${m.senderName || ''}: ${preview(m)}`);
    },
    /**
     * A call reminder (CallReminderDto) of a chat I have (summary; title with the school's name for another school):
     * «Урок через 10 минут» or «Урок начинается», the plan's title and the chat's in the body; one per plan (the start
     * replaces the «soon»). open: the chat is open in a visible tab, which shows the reminder itself. Muted: silent.
     */
    reminder(r, summary, open) {
      if (!enabled || open || !summary || mutedNow(summary)) return;
      const kind = REMINDER_KINDS[r.kind] || 'Звонок';
      const m = reminderMinutes(r);
      const title = r.atStart ? `${kind} начинается` : `${kind} через ${m} ${plural(m, 'минуту', 'минуты', 'минут')}`;
      show(r.chatId, summary.schoolId, 'call-' + r.planId, title, `${r.title} · ${summary.title}`);
    },
    /** The reminder is over (dismissed, the call started, forgotten): its notification goes. */
    reminderGone(planId) {
      close('call-' + planId);
    },
    /** The chat was opened or read here: its message notification goes. */
    read(chatId) {
      close('chat-' + chatId);
    },
    /**
     * The chat screen is left or the session ends: every notification it showed goes (on a shared computer the next
     * person must not find the previous one's messages in the system's notification centre).
     */
    closeAll() {
      stopped = true;
      for (const tag of [...shown.keys()]) close(tag);
      worker?.then(r => r?.getNotifications()).then(list => list?.forEach(x => x.close())).catch(() => {});
      if (worker) navigator.serviceWorker.removeEventListener('message', fromWorker);
    },
  };
}
