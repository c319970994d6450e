// Notifications: a message's one-line preview (the chat list and system notifications show the same), the unread count
// in the tab's title, and system notifications (the Notification API) switched on per device in «Профиль».

import { localTimes } from './dom.js';
import { isVoiceNote } from './voice.js';

const SETTING_KEY = 'chat.notifications'; // 'on' on a device where the person switched notifications on
const BASE_TITLE = document.title;
const BODY_MAX = 120;

/** A message in one line: «📊 question» for a poll, «🎤 Голосовое сообщение», «📎 caption or file names», else its text. */
export function preview(m) {
  if (m.kind === 'poll') return '📊 ' + m.text;
  if (m.kind === 'files' && isVoiceNote(m.files)) return '🎤 ' + (m.text || 'Голосовое сообщение');
  if (m.kind === 'files') return '📎 ' + (m.text || (m.files || []).map(f => f.name).join(', ') || 'Файл');
  return localTimes(m.text || '');
}

/** «(3) Школьный мессенджер» while 3 messages are unread in chats that are not muted; the plain title at 0. */
export function showUnread(count) {
  const title = count > 0 ? `(${count}) ${BASE_TITLE}` : BASE_TITLE;
  if (document.title !== title) document.title = title;
}

export const notificationsSupported = () => typeof window.Notification === 'function';

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
  return null;
}

/**
 * The system notifications of the chat screen. me: the account; openChat(chatId) opens a chat; isMuted(summary): muted
 * by me now. The setting is read once, when the screen is built (the profile, where it changes, is another screen):
 * with it off, a message costs one check.
 */
export function chatNotifier(me, openChat, isMuted) {
  const enabled = notificationsOn();
  const shown = new Map(); // chatId -> the notification on screen (one per chat: the tag replaces it)
  return {
    /** A new message of a chat in the list: summary its chat; open: that chat is open in a visible tab. */
    message(m, summary, open) {
      if (!enabled || open || m.senderId === me.id || !m.senderId || m.kind === 'system' || m.deleted) return;
      if (isMuted(summary) && !m.mentions?.includes(me.id)) return;
      if (Notification.permission !== 'granted') return; // taken back in the browser's settings meanwhile
      let body = `${m.senderName || ''}: ${preview(m)}`.replace(/\s+/g, ' ');
      if (body.length > BODY_MAX) body = body.slice(0, BODY_MAX - 1).trimEnd() + '…';
      let n;
      try {
        n = new Notification(summary.title, { body, tag: 'chat-' + m.chatId, renotify: true, lang: 'ru' });
      } catch {
        return; // e.g. Chrome on Android, which shows notifications only through a service worker
      }
      shown.set(m.chatId, n);
      n.onclick = ev => {
        ev?.preventDefault?.();
        window.focus();
        n.close();
        openChat(m.chatId);
      };
      n.onclose = () => { if (shown.get(m.chatId) === n) shown.delete(m.chatId); };
    },
    /** The chat was opened or read here: its notification goes. */
    read(chatId) {
      shown.get(chatId)?.close();
      shown.delete(chatId);
    },
  };
}
