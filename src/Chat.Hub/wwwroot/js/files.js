// Attachments: previews of photos, audio and video players, document downloads. Photos and voice notes are read with
// the person's token (the server checks access on every request) and shown through blob: URLs; videos and downloads go
// through a short-lived link the server signs for this person and session (fileLink), so the browser streams them
// with range requests — a lesson's recording plays and seeks on 3G instead of loading whole into memory first.
// Nothing is loaded from elsewhere.

import { blob, fileLink } from './api.js';
import { h, fill } from './dom.js';
import { viewDialog, notice } from './dialog.js';

// Photos and voice notes fetched on this page: path -> { promise, url, size }, the most recently used last, so that
// re-rendering a message does not fetch again. Kept within a budget: a parent scrolling through a year of class photos
// must not fill a phone's memory, so beyond it the least recently used that nothing on screen shows are let go (fetched
// again when shown again).
export const fileCache = { bytes: 48 * 1024 * 1024 }; // a test lowers it to see the least recently used let go
let urls = new Map();

function objectUrl(path) {
  const known = urls.get(path);
  if (known) {
    urls.delete(path);
    urls.set(path, known);
    return known.promise;
  }
  const entry = { url: null, size: 0 };
  const cache = urls;
  entry.promise = blob(path).then(b => {
    const url = URL.createObjectURL(b);
    if (urls !== cache) {
      // Signed out meanwhile: nothing of that session is kept.
      URL.revokeObjectURL(url);
      throw new Error('signed out');
    }
    entry.url = url;
    entry.size = b.size;
    trimCache(entry);
    return url;
  });
  entry.promise.catch(() => { if (cache.get(path) === entry) cache.delete(path); });
  urls.set(path, entry);
  return entry.promise;
}

/** Lets go of the least recently used photos and voice notes over the budget, but none shown now and not `fresh`. */
function trimCache(fresh) {
  let total = 0;
  for (const e of urls.values()) total += e.size;
  if (total <= fileCache.bytes) return;
  const shown = new Set([...document.querySelectorAll('img[src^="blob:"], audio[src^="blob:"]')].map(el => el.src));
  for (const [path, e] of urls) {
    if (total <= fileCache.bytes) break;
    if (e === fresh || !e.url || shown.has(e.url)) continue;
    URL.revokeObjectURL(e.url);
    urls.delete(path);
    total -= e.size;
  }
}

/** Signing out: the photos and voice notes this page fetched go with the session (a shared family tablet). */
export function forgetFiles() {
  for (const e of urls.values()) if (e.url) URL.revokeObjectURL(e.url);
  urls = new Map();
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} Б`;
  const tenths = n => n.toFixed(1).replace('.', ',').replace(/,0$/, '');
  // Each unit up to what rounds below 1024 of it (1 048 575 Б is «1 МБ», not «1024 КБ»).
  if (Math.round(bytes / 1024) < 1024) return `${Math.round(bytes / 1024)} КБ`;
  if (Number((bytes / 1024 / 1024).toFixed(1)) < 1024) return `${tenths(bytes / 1024 / 1024)} МБ`;
  return `${tenths(bytes / 1024 ** 3)} ГБ`;
}

function duration(ms) {
  if (!ms) return '';
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The attachments of a message of kind "files". */
export function renderFiles(files) {
  return h('div', { class: 'files' }, files.map(renderFile));
}

/** A fetch that failed for good (the file was deleted, or is not mine to see) rather than on the way (no network, busy). */
const gone = e => [403, 404, 410].includes(e?.status);

function renderFile(f) {
  const path = `/api/files/${f.id}`;
  const failed = el => () => fill(el, h('span', { class: 'error' }, 'Файл недоступен'));
  if (f.kind === 'image' && f.hasThumbnail) {
    const img = h('img', { alt: f.name, class: 'thumb-img', width: f.width && f.height ? Math.min(240, f.width) : undefined });
    const btn = h('button', {
      class: 'thumb', type: 'button', 'aria-label': 'Открыть изображение ' + f.name, dataset: { fileId: f.id },
      onclick: () => showFull(f, path),
    }, img);
    // A preview lost on the way says so; the button still opens the photo, which is fetched again then.
    objectUrl(path + '/thumbnail').then(u => { img.src = u; }, e => (gone(e) ? failed(btn)() : fill(btn, h('span', { class: 'muted' }, 'Превью не загрузилось — открыть фото'))));
    return btn;
  }
  if (f.kind === 'audio') {
    // Fetched on «▶ Слушать», not when shown: a chat full of voice notes must not download them all on a slow connection.
    const name = h('div', { class: 'file-name' }, '🎤 ', f.name, f.durationMs ? ' · ' + duration(f.durationMs) : '');
    const box = h('div', { class: 'file audio', dataset: { fileId: f.id } }, name);
    const audio = h('audio', { controls: true, preload: 'auto', 'aria-label': 'Аудио ' + f.name });
    box.append(loadOnPress(box, () => objectUrl(path), '▶ Слушать', 'Слушать ' + f.name, name, audio, true));
    return box;
  }
  if (f.kind === 'video') {
    const box = h('div', { class: 'file video', dataset: { fileId: f.id } });
    const video = h('video', { controls: true, playsinline: true, 'aria-label': 'Видео ' + f.name, class: 'video-player' });
    // The link lasts 4 hours: a recording paused longer (or seeked after that) fails on its next range request, and
    // then a new link is asked for and playing goes on where it was. A link still valid that fails is the file's own
    // trouble: not asked again.
    let expires = 0;
    const link = () => fileLink(f.id).then(l => { expires = Date.parse(l.expiresAt); return l.url; });
    video.addEventListener('error', async () => {
      if (!expires || Date.now() < expires - 60_000) return;
      const at = video.currentTime;
      expires = 0;
      try { video.src = await link(); video.currentTime = at; } catch { /* offline: the player shows its error */ }
    });
    box.append(h('div', { class: 'file-name' }, '🎬 ', f.name, ' · ', size(f.size), f.durationMs ? ' · ' + duration(f.durationMs) : ''),
      loadOnPress(box, link, '▶ Смотреть видео', undefined, h('div', { class: 'file-name' }, f.name), video, false));
    return box;
  }
  return h('button', {
    class: 'file document', type: 'button', dataset: { fileId: f.id }, 'aria-label': `Скачать ${f.name}, ${size(f.size)}`,
    onclick: () => download(f),
  }, h('span', { class: 'file-icon', 'aria-hidden': 'true' }, '📄'), h('span', { class: 'file-name' }, f.name), h('span', { class: 'muted' }, ' · ' + size(f.size)));
}

/** The photo full size in a dialog; lost on the way, the dialog says so and «Повторить» fetches it again. */
function showFull(f, path) {
  const place = h('div');
  viewDialog(f.name, h('div', {}, place, h('p', {}, h('button', { class: 'btn small', type: 'button', onclick: () => download(f) }, 'Скачать'))));
  const load = async () => {
    fill(place, h('p', { class: 'muted' }, 'Загрузка…'));
    try {
      const full = h('img', { alt: f.name, class: 'full-img' });
      full.src = await objectUrl(path);
      fill(place, full);
    } catch (e) {
      fill(place, h('p', { class: 'error', role: 'alert' }, gone(e) ? 'Файл недоступен.' : 'Фото не загрузилось: нет связи с сервером.'),
        !gone(e) && h('button', { class: 'btn small', type: 'button', onclick: load }, 'Повторить'));
    }
  };
  load();
}

/**
 * A button that asks for the file's address (`source`: a blob: URL or a streamed link) only when pressed and then shows
 * `player` (an audio or video element) under `caption` in `box`; `start`: begin playing at once (a browser may refuse
 * sound it was not asked for: the controls are there).
 */
function loadOnPress(box, source, text, ariaLabel, caption, player, start) {
  const button = h('button', {
    class: 'btn small', type: 'button', 'aria-label': ariaLabel,
    onclick: async () => {
      button.disabled = true;
      try {
        player.src = await source();
        fill(box, caption, player);
        if (start) player.play().catch(() => {});
        player.focus();
      } catch (e) {
        // Lost on the way: the button works again and says so; gone for good: the file is unavailable.
        if (gone(e)) { fill(box, h('span', { class: 'error' }, 'Файл недоступен')); return; }
        button.disabled = false;
        box.querySelector('.load-error')?.remove();
        box.append(h('p', { class: 'error load-error', role: 'alert' }, 'Не загрузилось: нет связи с сервером. Нажмите ещё раз.'));
      }
    },
  }, text);
  return button;
}

/** Saves the file through the browser's own download (streamed, shown in its downloads, resumable there). */
async function download(f) {
  try {
    const { url } = await fileLink(f.id);
    const a = h('a', { href: url, download: f.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    notice(e.display || 'Файл недоступен.');
  }
}
