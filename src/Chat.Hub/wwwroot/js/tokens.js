// The sign-in's token pair as this browser keeps it (localStorage 'chat.tokens'), shared by every tab of the site: the
// chat (js/api.js) and the call page (call.js, which loads this module with import()). It imports only js/idb.js (which
// imports nothing): the call page loads nothing else of the chat.
//
// A refresh token works once: the server takes a spent one coming back for a stolen copy and revokes the session. So
// every renewal in every tab goes through one Web Lock, and inside it the stored pair is read again first: when another
// tab has renewed meanwhile, its pair is taken and the server is not asked. A renewal whose answer is lost is retried
// with the same renewal id, which the server accepts for a while (Auth:RefreshRetrySeconds).
//
// localStorage alone cannot say "another tab has renewed": a tab in another renderer process (the lesson page opened
// with noopener) reads its own cached copy, which another tab's write reaches a moment later. Under load that moment
// outlasted the lock: the lesson tab renewed with the token the chat tab had just spent, and the server ended the
// session. So each renewal is also written, before the lock is let go, to IndexedDB (spent token -> the pair it was
// renewed into), whose transactions the browser runs in one place: the next holder of the lock sees it.

import { objectStore } from './idb.js';

export const TOKENS_KEY = 'chat.tokens';
const LOCK = 'chat.tokens.refresh';

/** The stored pair ({ accessToken, refreshToken, account }), or null. */
export function loadTokens() {
  try { return JSON.parse(localStorage.getItem(TOKENS_KEY)) || null; } catch { return null; }
}

/** Stores a pair (only its tokens, account and pending renewal id), or forgets it (null); returns what is stored. */
export function storeTokens(pair) {
  const kept = pair ? { accessToken: pair.accessToken, refreshToken: pair.refreshToken, account: pair.account } : null;
  if (kept && pair.renewalId) kept.renewalId = pair.renewalId;
  if (kept) localStorage.setItem(TOKENS_KEY, JSON.stringify(kept));
  else {
    localStorage.removeItem(TOKENS_KEY);
    forgetRenewals();
  }
  return kept;
}

const RENEWALS_KEPT_MS = 24 * 3600_000; // a renewal older than a day is nobody's news
const renewals = objectStore('chat.tokens', 'renewals');

/**
 * work(store, done) inside one transaction of the renewals store; what it gave done() once committed, or null (no
 * IndexedDB, an error, 3 s: this runs under the lock, and a database that never answers must not hold every tab's
 * renewal).
 */
function inRenewals(mode, work) {
  return renewals(mode, work, null, 3000).then(r => r ?? null);
}

/** The pair a spent refresh token was last renewed into by any tab (following renewals of renewals), or null. */
function renewedFrom(spent) {
  return inRenewals('readonly', (store, done) => {
    const seen = new Set();
    const next = token => {
      const get = store.get(token);
      get.onsuccess = () => {
        const pair = get.result && get.result.pair;
        if (!pair || !pair.refreshToken || seen.has(pair.refreshToken)) return;
        seen.add(pair.refreshToken);
        done(pair);
        next(pair.refreshToken);
      };
    };
    next(spent);
  });
}

/** Records that `spent` was renewed into `pair` (committed before the caller lets the lock go); drops old records. */
function recordRenewal(spent, pair) {
  return inRenewals('readwrite', store => {
    const now = Date.now();
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) return;
      if (!(c.value && c.value.at > now - RENEWALS_KEPT_MS)) c.delete();
      c.continue();
    };
    store.put({ pair, at: now }, spent);
  });
}

/** Signed out: no renewal of this browser is worth adopting any more. */
function forgetRenewals() {
  inRenewals('readwrite', store => { store.clear(); });
}

// Without Web Locks (an old browser): renewals of this tab at least run one at a time.
let chain = Promise.resolve();

function exclusively(work) {
  if (typeof navigator !== 'undefined' && navigator.locks && navigator.locks.request) {
    return navigator.locks.request(LOCK, { mode: 'exclusive' }, work);
  }
  const run = chain.then(work, work);
  chain = run.catch(() => {});
  return run;
}

/**
 * Renews the pair whose refresh token is `spent` (the one this tab holds), one renewal in the browser at a time.
 * Resolves to { outcome, tokens }:
 * - 'adopted': another tab renewed first; tokens is its pair (stored), the server was not asked;
 * - 'rotated': the server gave a new pair, stored; tokens is it;
 * - 'refused': the server refused the token (400/401: the session is over); tokens null;
 * - 'failed': no answer (offline) or a server error; tokens is what is stored (perhaps null), worth trying later.
 */
function newRenewalId() {
  if (typeof crypto !== 'undefined' && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

export function renewTokens(spent) {
  return exclusively(async () => {
    const stored = loadTokens();
    if (stored && stored.refreshToken && stored.refreshToken !== spent) return { outcome: 'adopted', tokens: stored };
    // This tab's copy may not show another tab's renewal yet; the renewals record does.
    const renewed = await renewedFrom(spent);
    if (renewed) return { outcome: 'adopted', tokens: storeTokens({ ...renewed, account: renewed.account || (stored && stored.account) }) };
    // The renewal's id, kept with the pair until a new one arrives: a retry after a lost answer repeats it, and the
    // server then gives a new pair instead of taking the spent token for a stolen copy (docs/api.md).
    let renewalId = stored && stored.renewalId;
    if (!renewalId) {
      renewalId = newRenewalId();
      if (stored) storeTokens({ ...stored, renewalId });
    }
    let r;
    try {
      // A request that hangs (a dead network) must not hold every tab's renewal: given up after 20 s.
      const signal = typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(20_000) : undefined;
      r = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: spent, renewalId }), signal });
    } catch {
      return { outcome: 'failed', tokens: stored };
    }
    if (r.ok) {
      let pair;
      try { pair = await r.json(); } catch { return { outcome: 'failed', tokens: stored }; }
      const kept = storeTokens({ ...pair, account: pair.account || (stored && stored.account) });
      await recordRenewal(spent, kept);
      return { outcome: 'rotated', tokens: kept };
    }
    return r.status === 400 || r.status === 401 ? { outcome: 'refused', tokens: null } : { outcome: 'failed', tokens: stored };
  });
}
