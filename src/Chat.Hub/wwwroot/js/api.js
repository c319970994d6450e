// HTTP API access: tokens in localStorage, one refresh at a time on 401 (in the whole browser: js/tokens.js), problem
// details turned into ApiError.

import { forgetOffline, forgetOtherAccounts } from './offline.js';
import { TOKENS_KEY, loadTokens, storeTokens, renewTokens } from './tokens.js';
import { localTimes } from './dom.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(localTimes(problem?.detail || problem?.title || 'Ошибка запроса.')); // an ISO 8601 UTC time in it: local time
    this.status = status;
    this.code = problem?.code || 'http_' + status;
    this.errors = problem?.errors || {};
  }

  /** The first field message, else the title: what to show to a person. */
  get display() {
    const first = Object.values(this.errors)[0];
    return Array.isArray(first) && first.length ? first[0] : this.message;
  }
}

let tokens = load();
let refreshing = null;
const signedOutHandlers = [];

function load() {
  return loadTokens();
}

function save(pair) {
  tokens = storeTokens(pair);
}

export const session = {
  get signedIn() { return !!tokens; },
  get account() { return tokens?.account || null; },
  set account(a) {
    if (!tokens) return;
    // Into the stored pair: another tab may have renewed it, and this tab's older pair must not overwrite it.
    const stored = load();
    if (stored) tokens = stored;
    tokens.account = a;
    if (stored) localStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
  },
  get accessToken() { return tokens?.accessToken || null; },
  onSignedOut(handler) { signedOutHandlers.push(handler); },
};

async function send(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/**
 * Gets a new token pair; concurrent callers share one request (a refresh token works only once). Every tab of the
 * browser renews under one lock (js/tokens.js): when another tab (the call page, a second chat tab) has renewed
 * meanwhile, its pair is taken instead of spending this tab's old refresh token, which would end the session.
 */
export function refreshTokens() {
  if (!tokens) return Promise.resolve(false);
  if (!refreshing) {
    const spent = tokens.refreshToken;
    refreshing = (async () => {
      try {
        const { outcome, tokens: pair } = await renewTokens(spent);
        if (outcome === 'adopted' || outcome === 'rotated') { tokens = pair; return true; }
        if (outcome === 'refused') endSession();
        return false;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/**
 * Forgets the session here (the server has ended it, or will); note is shown on the sign-in screen. What the account
 * kept on the device for offline reading goes with it (offline.js).
 */
export function endSession(note) {
  const accountId = tokens?.account?.id;
  save(null);
  forgetOffline(accountId);
  for (const h of signedOutHandlers) h(note);
}

async function parse(r) {
  if (r.status === 204) return null;
  const type = r.headers.get('content-type') || '';
  if (r.ok) return type.includes('json') ? r.json() : r.blob();
  let problem = null;
  try { problem = await r.json(); } catch { /* not JSON */ }
  throw new ApiError(r.status, problem);
}

/** A request given up for want of a network (status 0): retried or waited out by its caller. */
const lostConnection = () => new ApiError(0, { title: 'Нет соединения с сервером.', code: 'network' });

/** Calls the API as the signed-in person; on 401 refreshes once and repeats. */
export async function api(method, path, body) {
  let r;
  try {
    r = await send(method, path, body, tokens?.accessToken);
    if (r.status === 401 && tokens) {
      if (await refreshTokens()) r = await send(method, path, body, tokens.accessToken);
      else if (!tokens) throw new ApiError(401, { title: 'Сессия завершена. Войдите снова.', code: 'refresh_invalid' });
      else throw lostConnection(); // the renewal was lost on the way (the session holds): the network's failure, not a sign-out
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw lostConnection();
  }
  return parse(r);
}

/**
 * How long an upload may go without a byte moving before it counts as lost: 30 s; `localStorage['chat.uploadStallMs']`
 * (at least 500 ms) overrides it, for tests.
 */
export function uploadStallMs() {
  const n = Number(localStorage.getItem('chat.uploadStallMs'));
  return Number.isFinite(n) && n >= 500 ? n : 30_000;
}

/**
 * One request with a raw body and upload progress (XMLHttpRequest: fetch reports none); onProgress(fraction 0..1).
 * Resolves to the JSON answer. A request during which nothing moves for uploadStallMs() — no byte of the body sent, and
 * then no answer — is given up as lost (on 3G a dead connection can hang without an error, the bar frozen for good), as
 * is a network error: both are ApiError status 0. A slow but moving upload goes on however long it takes. Retries once
 * after a refresh on 401.
 */
function sendRaw(method, url, body, onProgress) {
  const stallMs = uploadStallMs();
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let stall;
    const lost = () => reject(lostConnection());
    const moved = () => {
      clearTimeout(stall);
      stall = setTimeout(() => { xhr.onabort = null; xhr.abort(); lost(); }, stallMs);
    };
    xhr.open(method, url);
    if (tokens?.accessToken) xhr.setRequestHeader('Authorization', 'Bearer ' + tokens.accessToken);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = e => { moved(); if (e.lengthComputable && e.total) onProgress?.(e.loaded / e.total); };
    xhr.upload.onload = moved; // all sent: the server's answer gets its own stall time
    xhr.onprogress = moved;
    xhr.onload = () => {
      clearTimeout(stall);
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(answer); else reject(new ApiError(xhr.status, answer));
    };
    xhr.onerror = xhr.onabort = () => { clearTimeout(stall); lost(); };
    moved();
    xhr.send(body);
  });
  return attempt().catch(async e => {
    if (e.status !== 401 || !tokens) throw e;
    if (await refreshTokens()) return attempt();
    // The renewal lost on the way while the session holds: the network's failure (an upload waits it out), not «Войдите».
    throw tokens ? lostConnection() : e;
  });
}

/**
 * Uploads a file as the raw request body (docs/files-and-polls.md) with progress; retries once after a refresh on 401.
 * onProgress(fraction 0..1). Resolves to the FileDto.
 */
export async function upload(schoolId, file, onProgress, uploadId) {
  const dto = await sendRaw('POST', `/api/schools/${schoolId}/files?name=${encodeURIComponent(file.name)}&uploadId=${uploadId}`, file, onProgress);
  onProgress?.(1);
  return dto;
}

/** Chunk size of resumable uploads: 4 MB; `localStorage['chat.uploadChunkBytes']` (at least 64 KB) overrides it, for tests. */
export function uploadChunkBytes() {
  const n = Number(localStorage.getItem('chat.uploadChunkBytes'));
  return Number.isFinite(n) && n >= 64 * 1024 ? n : 4 * 1024 * 1024;
}

/** A failure worth waiting out: no network, a timeout, or the server (or a proxy) briefly unable to answer. */
const transient = e => e.status === 0 || e.status === 408 || e.status === 500 || e.status === 502 || e.status === 503 || e.status === 504;

/** Resolves after ms, or as soon as the browser says the network is back. */
function networkBack(ms) {
  return new Promise(resolve => {
    const done = () => { clearTimeout(timer); removeEventListener('online', done); resolve(); };
    const timer = setTimeout(done, ms);
    addEventListener('online', done);
  });
}

/**
 * Uploads a large file in chunks (resumable upload, docs/files-and-polls.md): a chunk that fails on the network, stalls
 * (sendRaw) or gets a 5xx is sent again, after a backoff (1, 2, 4 … 30 s, or when `online` fires), from the offset the server has;
 * onWaiting(true) meanwhile, onWaiting(false) once chunks go through again. A refusal (type, limit, quota) rejects
 * with the server's ApiError. onProgress(fraction 0..1). Resolves to the FileDto.
 * resume: { uploadId } continues an upload declared earlier (before a reload) from the offset the server has;
 * { newUploadId, onStarted(uploadId) }: a new upload is declared under newUploadId (chosen by the caller), and onStarted is told it
 * (to keep it for after a reload) before the declaration is sent.
 * The declaration is retried like a chunk: on 3G it can reach the server and its answer be lost; declared again under
 * the same id, the server returns the upload it stored the first time (before, the page gave up with «Файл не
 * отправлен», and that first upload, known to nobody, held its size of the school's quota for a day).
 */
export async function uploadResumable(schoolId, file, onProgress, onWaiting, resume = {}) {
  const chunk = uploadChunkBytes();
  const uploadId = resume.uploadId || resume.newUploadId || crypto.randomUUID();
  if (!resume.uploadId) await resume.onStarted?.(uploadId);
  const url = `/api/schools/${schoolId}/uploads/${uploadId}`;
  let declared = !!resume.uploadId;
  let offset = 0;
  let failures = 0;
  let resync = !!resume.uploadId; // a continued upload starts by asking the server how much it has
  for (;;) {
    try {
      let answer;
      if (!declared) {
        answer = await api('POST', `/api/schools/${schoolId}/uploads`, { name: file.name, size: file.size, uploadId });
        declared = true;
      } else if (resync) {
        answer = await api('GET', url);
      } else {
        const end = Math.min(file.size, offset + chunk);
        const from = offset;
        answer = await sendRaw('PATCH', `${url}?offset=${from}`, file.slice(from, end), f => onProgress?.((from + f * (end - from)) / file.size));
      }
      if (failures) onWaiting?.(false);
      failures = 0;
      resync = false;
      if (answer.file) { onProgress?.(1); return answer.file; }
      offset = answer.offset;
      onProgress?.(offset / file.size);
    } catch (e) {
      if (e.code === 'upload_offset_mismatch') { resync = true; continue; }
      if (!transient(e) && e.code !== 'upload_busy') throw e;
      onWaiting?.(true);
      await networkBack(Math.min(30_000, 1000 * 2 ** failures++));
      resync = true;
    }
  }
}

/** Fetches a file (or any binary answer) as a Blob, with the person's token. */
/**
 * A short-lived link to a file's bytes (POST /api/files/{id}/link) for the browser's own video player and downloads:
 * they stream with range requests (seeking, resuming) instead of the whole file fetched into memory first.
 */
export function fileLink(fileId) {
  return api('POST', `/api/files/${fileId}/link`);
}

export async function blob(path) {
  const b = await api('GET', path);
  return b instanceof Blob ? b : new Blob([JSON.stringify(b)], { type: 'application/json' });
}

/**
 * An export's path with the reader's time zone (`tz=Europe/Moscow`): the server writes the CSV exports' times in it
 * (without one it takes Europe/Moscow).
 */
export function inMyTimeZone(path) {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return tz ? `${path}${path.includes('?') ? '&' : '?'}tz=${encodeURIComponent(tz)}` : path;
}

/** Saves a Blob as a download with the given name. */
export function saveBlob(b, name) {
  const url = URL.createObjectURL(b);
  const a = document.createElement('a');
  a.href = url; a.download = name; a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export async function requestCode(identity) {
  return parse(await send('POST', '/api/auth/code', identity));
}

export async function verifyCode(identity, code) {
  const pair = await parse(await send('POST', '/api/auth/verify', { ...identity, code, device: deviceLabel() }));
  save(pair);
  forgetOtherAccounts(pair.account?.id);
  return pair;
}

export async function signOut() {
  try { await api('POST', '/api/auth/sign-out'); } catch { /* the session ends locally anyway */ }
  endSession();
}

/** The browser and the system of a user agent string: «Chrome, Android». */
export function agentName(ua) {
  const browser = /YaBrowser\//.test(ua) ? 'Яндекс Браузер' : /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Браузер';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /CrOS/.test(ua) ? 'ChromeOS'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return system ? `${browser}, ${system}` : browser;
}

/** The session's name in «Устройства и сеансы» (`device` of the sign-in). */
function deviceLabel() {
  return 'Веб: ' + agentName(navigator.userAgent);
}

/** A phone when it looks like one, else an e-mail. */
export function identityOf(text) {
  const t = text.trim();
  return t.includes('@') ? { email: t } : { phone: t };
}
