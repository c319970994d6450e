// Voice notes: «🎤 Голосовое» records from the microphone (MediaRecorder) with the elapsed time shown, «Отправить» hands
// the note to the chat as a file (uploaded like any attachment), «Отмена» throws it away. At most MAX_MS long: the last
// seconds count down, then the recording stops and waits for «Отправить» or «Отмена».

import { h } from './dom.js';
import { notice } from './dialog.js';

export const MAX_MS = 5 * 60 * 1000;
const NOTE_NAME = 'Голосовое сообщение'; // the recorded file's name, before its extension
const COUNTDOWN_MS = 30 * 1000;

// What the browser can record, best first, and the file extension the server expects for it (it checks the content).
const FORMATS = [
  ['audio/webm;codecs=opus', '.webm'],
  ['audio/webm', '.webm'],
  ['audio/mp4', '.m4a'],
  ['audio/ogg;codecs=opus', '.ogg'],
];

function clock(ms) {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function format() {
  if (typeof MediaRecorder === 'undefined' || !navigator.mediaDevices?.getUserMedia) return null;
  return FORMATS.find(([type]) => MediaRecorder.isTypeSupported(type)) || null;
}

/** Why the microphone could not be used, in words for the person. */
function microphoneError(e) {
  if (e?.name === 'NotAllowedError' || e?.name === 'SecurityError') {
    return 'Нет доступа к микрофону. Разрешите его для этого сайта в настройках браузера и попробуйте снова.';
  }
  if (e?.name === 'NotFoundError' || e?.name === 'OverconstrainedError') return 'Микрофон не найден. Подключите его и попробуйте снова.';
  if (e?.name === 'NotReadableError') return 'Микрофон занят другим приложением.';
  return 'Не удалось включить микрофон.';
}

/** Whether a message's files are one voice note recorded here (an audio file under the recorder's name). */
export function isVoiceNote(files) {
  return files?.length === 1 && files[0].kind === 'audio' && files[0].name.startsWith(NOTE_NAME + '.');
}

/**
 * The «🎤 Голосовое» button. The recorder panel appears in `host` (above the composer); `send(file)` posts the recorded
 * note (a File named «Голосовое сообщение.webm» or the like) and returns a promise.
 */
export function voiceButton(host, send) {
  const button = h('button', {
    class: 'btn icon', type: 'button', 'aria-label': 'Записать голосовое сообщение', title: 'Записать голосовое сообщение',
    onclick: () => start(),
  }, '🎤 Голосовое');

  async function start() {
    const fmt = format();
    if (!fmt) {
      notice('Этот браузер не умеет записывать голосовые сообщения. Запишите звук в другом приложении и отправьте его через «Файл».');
      return;
    }
    button.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      button.disabled = false;
      notice(microphoneError(e));
      button.focus();
      return;
    }
    try {
      record(stream, fmt);
    } catch {
      // The recorder could not start (a format the browser listed but refuses, a device lost meanwhile).
      stream.getTracks().forEach(t => t.stop());
      button.disabled = false;
      notice('Не удалось начать запись с микрофона. Попробуйте ещё раз или отправьте звук через «Файл».');
      button.focus();
    }
  }

  function record(stream, [mimeType, extension]) {
    const recorder = new MediaRecorder(stream, { mimeType }); // throws to start() before anything is shown
    const parts = [];
    const startedAt = Date.now();
    let elapsed = 0;
    let after = null; // what to do once the recorder has stopped: send or discard
    const time = h('span', { class: 'voice-time', 'aria-label': 'Длительность записи' }, '0:00');
    const left = h('span', { class: 'voice-left muted', hidden: true });
    const state = h('span', { class: 'voice-state' }, '● Запись');
    const sendBtn = h('button', { class: 'btn primary small', type: 'button', onclick: () => finish('send') }, 'Отправить');
    const cancelBtn = h('button', { class: 'btn small', type: 'button', onclick: () => finish('cancel') }, 'Отмена');
    const panel = h('div', { class: 'voice-recorder', role: 'group', 'aria-label': 'Запись голосового сообщения' },
      state, time, left, h('span', { class: 'voice-actions' }, cancelBtn, sendBtn));
    let stopped = false; // the recorder's stop event came: every part is in
    let timer = 0;
    recorder.ondataavailable = e => { if (e.data.size) parts.push(e.data); };
    recorder.onstop = () => {
      stopped = true;
      stream.getTracks().forEach(t => t.stop());
      if (after === 'send') deliver();
      else if (after === 'cancel') close();
    };
    recorder.onerror = () => {
      // The microphone went away mid-recording: nothing usable, say so.
      after = 'cancel';
      stream.getTracks().forEach(t => t.stop());
      close();
      notice('Запись прервалась: микрофон недоступен. Ничего не отправлено.');
    };
    recorder.start(); // one piece at the end: Chromium then writes the Duration, and players show the length
    host.append(panel);
    sendBtn.focus();

    timer = setInterval(tick, 250);
    function tick() {
      if (!panel.isConnected) { finish('cancel'); return; } // the chat was left: drop the recording, free the microphone
      elapsed = Math.min(Date.now() - startedAt, MAX_MS);
      time.textContent = clock(elapsed);
      const remaining = MAX_MS - elapsed;
      left.hidden = remaining > COUNTDOWN_MS;
      left.textContent = `осталось ${clock(remaining + 999)}`;
      if (remaining <= 0) stop('limit');
    }

    function stop(reason) {
      clearInterval(timer);
      if (reason === 'limit') {
        state.textContent = `■ Запись остановлена: не длиннее ${Math.round(MAX_MS / 60000)} минут`;
        left.hidden = true;
      }
      if (recorder.state !== 'inactive') recorder.stop();
    }

    function finish(action) {
      sendBtn.disabled = true;
      cancelBtn.disabled = true;
      after = action;
      // Until the stop event has come the last part may be missing: the event then sends or discards.
      if (!stopped) stop();
      else if (action === 'send') deliver();
      else close();
    }

    async function deliver() {
      const file = new File(parts, NOTE_NAME + extension, { type: mimeType.split(';')[0] });
      if (!file.size || elapsed < 500) {
        close();
        notice('Запись слишком короткая: ничего не отправлено.', { kind: 'info' });
        return;
      }
      close();
      await send(file);
    }

    function close() {
      clearInterval(timer);
      panel.remove();
      button.disabled = false;
      if (button.isConnected) button.focus();
    }
  }

  return button;
}
