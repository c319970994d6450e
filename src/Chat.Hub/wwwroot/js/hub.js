// The live connection: SignalR with endless reconnects, per-chat sequence tracking with catch-up (GetUpdates) after
// every reconnect or gap, and an outbox of unsent messages kept in localStorage and resent with the same clientId.

import { session, refreshTokens } from './api.js';
import { notice } from './dialog.js';
import { localTimes } from './dom.js';

/** The stable code and Russian message of a refused hub call (docs/hub-protocol.md). */
export function hubError(e) {
  const m = /HubException: ([a-z_]+): (.*)$/s.exec(e?.message || '');
  if (!m) return { code: 'network', message: 'Нет соединения с сервером.' };
  // A refused field is named at the end, «… (text)»: for the code, not for the person. A time in the message (until
  // when a block lasts) comes as ISO 8601 UTC: shown in local time.
  const field = /^(.*) \(([A-Za-z][A-Za-z0-9.]*)\)$/s.exec(m[2]);
  return { code: m[1], message: localTimes(field ? field[1] : m[2]), field: field ? field[2] : undefined };
}

/** A hub error as an Error with the Russian message (for dialogs, which show an error's message). */
export function hubFail(e) {
  return new Error(hubError(e).message);
}

/** Shows a hub error's Russian message as a notice (for actions that have no dialog of their own). */
export function hubNotice(e) {
  notice(hubError(e).message);
}

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map(x => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Refusals that pass with time: the same message (same clientId) is sent again later. slow_mode holds back only its
// chat; the rest wait for the connection or the server. Any other refusal is final for that message at once, except
// an unknown one (a server error), which is tried three times: a final refusal keeps the message in the outbox as
// not sent, with «Повторить» and «Удалить» (retry, discard).
const CHAT_WAITS = new Set(['slow_mode']);
const ALL_WAIT = new Set(['network', 'rate_limited', 'service_unavailable', 'cancelled']);
const KNOWN_FINAL = new Set(['validation_failed', 'chat_not_found', 'chat_read_only', 'reply_not_found', 'message_not_found',
  'message_deleted', 'rules_not_accepted', 'school_not_found', 'member_restricted', 'forbidden', 'member_blocked',
  'member_muted', 'chat_archived']);
const MAX_TRIES = 3;

function expiresSoon(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp * 1000 - Date.now() < 30_000;
  } catch {
    return true;
  }
}

/**
 * The access token for a hub connection (its accessTokenFactory: asked on every connect and reconnect): the session's
 * current one (js/api.js), renewed first when it is missing or about to expire.
 */
export async function hubAccessToken() {
  if (!session.accessToken || expiresSoon(session.accessToken)) await refreshTokens();
  return session.accessToken;
}

/** Reconnect delays of a hub connection that never gives up: 0.5, 1, 2, 4 … at most 10 s apart. */
export const reconnectForever = { nextRetryDelayInMilliseconds: r => Math.min(500 * 2 ** r.previousRetryCount, 10_000) };

export class ChatClient {
  /**
   * handlers: message(m), change(event), pending(item), sent(item, message), sendFailed(item, error), typing(t), read(p), membership(chatId, added), chatUpdated(u),
   * state('connecting'|'connected'|'offline'), resynced(), sessionEnded().
   */
  constructor(meId, handlers) {
    this.me = meId;
    this.h = handlers;
    this.last = new Map(); // chatId -> highest seq applied (only for chats the client follows closely)
    this.queues = new Map(); // chatId -> promise chain, so catch-ups of one chat never overlap
    this.outboxKey = 'chat.outbox.' + meId;
    this.outbox = this.storedOutbox();
    this.stopped = false;
    this.state = 'connecting';
    this.flushing = false;

    const c = this.connection = new signalR.HubConnectionBuilder()
      .withUrl('/hubs/chat', { accessTokenFactory: hubAccessToken })
      .withAutomaticReconnect(reconnectForever)
      .configureLogging(signalR.LogLevel.None)
      .build();

    c.on('MessageReceived', m => { this.receive(m.chatId, m.seq, () => this.h.message(m)); });
    // Several new messages of one chat at once (one group commit), in seq order. After a gap the catch-up fetches
    // the rest of them too, so one catch-up is enough. A message the page fails to show does not hold back the rest
    // (its seq is taken before it is shown, as for a single push).
    c.on('MessagesReceived', ms => {
      for (const m of ms) {
        try {
          if (this.receive(m.chatId, m.seq, () => this.h.message(m))) break;
        } catch (e) {
          console.error('message', m.chatId, m.seq, e);
        }
      }
    });
    c.on('MessageChanged', e => { this.receive(e.chatId, e.seq, () => this.h.change(e)); });
    // The chat has events up to seq (a resent message a stopped server stored but never pushed): a followed chat that
    // is behind catches up; the list reads a chat it does not follow again.
    c.on('ChatAdvanced', (chatId, seq) => {
      const last = this.last.get(chatId);
      if (last === undefined) this.h.stale?.(chatId, seq);
      else if (last < seq) this.catchUp(chatId);
    });
    c.on('Typing', t => { if (t.accountId !== this.me) this.h.typing(t); });
    c.on('ReadPosition', p => this.h.read?.(p));
    c.on('MyReactions', m => this.h.myReactions?.(m));
    c.on('JoinRequestsChanged', schoolId => this.h.joinRequests?.(schoolId));
    c.on('ChatMembershipChanged', (chatId, added) => this.h.membership?.(chatId, added));
    c.on('ChatUpdated', u => this.h.chatUpdated?.(u));
    c.on('PollUpdated', u => this.h.poll?.(u));
    c.on('RestrictionChanged', r => this.h.restriction?.(r));
    c.on('CallStarted', call => this.h.callStarted?.(call));
    c.on('CallEnded', callId => this.h.callEnded?.(callId));
    c.on('BroadcastViewers', (callId, count) => this.h.broadcastViewers?.(callId, count));
    c.on('ParticipantJoined', (callId, p) => this.h.participantJoined?.(callId, p));
    c.on('ParticipantLeft', (callId, accountId) => this.h.participantLeft?.(callId, accountId));
    c.on('CallScheduled', plan => this.h.callScheduled?.(plan));
    c.on('CallReminder', r => this.h.callReminder?.(r));
    c.onreconnecting(() => this.setState('connecting'));
    c.onreconnected(() => this.connected());
    c.onclose(e => {
      // Refused as one connection too many (other tabs, apps, devices): said on the page, and tried again only slowly.
      const refused = /too_many_connections: (.*)$/s.exec(e?.message || '');
      this.refused = refused ? refused[1] : null;
      if (!this.stopped && navigator.onLine) { this.restartLater(refused ? 30_000 : 2000); if (refused) this.setState('connecting'); }
      else if (!this.stopped) this.setState('offline');
    });
    // This session was ended (on another device, or everywhere): the refresh that follows fails and signs this page out.
    c.on('SessionEnded', () => this.h.sessionEnded?.());

    this.onOffline = () => { this.setState('offline'); this.connection.stop(); };
    this.onOnline = () => this.start();
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  setState(s) {
    this.state = s;
    this.h.state(s);
  }

  async start() {
    if (this.stopped || this.connection.state !== signalR.HubConnectionState.Disconnected) return;
    this.setState('connecting');
    try {
      await this.connection.start();
      await this.connected();
    } catch {
      if (!session.signedIn) return;
      this.restartLater(this.refused ? 30_000 : 2000);
    }
  }

  restartLater(ms = 2000) {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.start(), ms);
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    await this.connection.stop();
  }

  async connected() {
    this.refused = null;
    this.setState('connected');
    // What was written offline goes out first, not after every chat followed since the page opened has caught up (on
    // a poor connection that can be many pages). The server stores sends as they come; a send's answer with a seq
    // ahead of a chat still catching up only queues one more catch-up of it (receive).
    this.flush();
    await Promise.all([...this.last.keys()].map(chatId => this.catchUp(chatId)));
    this.h.resynced?.();
  }

  invoke(method, ...args) {
    return this.connection.invoke(method, ...args);
  }

  /** Starts following a chat closely from this seq on: later pushes are applied in order, gaps are caught up. */
  follow(chatId, seq) {
    this.last.set(chatId, Math.max(this.last.get(chatId) ?? 0, seq));
  }

  /** Follows a chat from exactly this seq (what the device kept, offline.js): the next catch-up starts there. */
  followFrom(chatId, seq) {
    this.last.set(chatId, seq);
  }

  lastSeq(chatId) {
    return this.last.get(chatId);
  }

  /** Applies a pushed event in seq order; returns true when it found a gap and started a catch-up instead. */
  receive(chatId, seq, apply) {
    const last = this.last.get(chatId);
    if (last === undefined) { apply(); return false; } // not followed: the list only updates its summary
    if (seq <= last) return false; // seen already (through catch-up or an earlier push)
    if (seq === last + 1) { this.last.set(chatId, seq); apply(); return false; }
    this.catchUp(chatId); // a gap: fetch everything after what we have, this event included
    return true;
  }

  catchUp(chatId) {
    const run = async () => {
      for (;;) {
        const after = this.last.get(chatId);
        if (after === undefined) return;
        let page;
        try {
          page = await this.connection.invoke('GetUpdates', chatId, after, 200);
        } catch (e) {
          if (hubError(e).code === 'chat_not_found') this.last.delete(chatId);
          // Not caught up (a hiccup): tried again soon while connected, else at the next reconnect.
          else setTimeout(() => { if (this.connection.state === signalR.HubConnectionState.Connected) this.catchUp(chatId); }, 2000);
          return;
        }
        for (const ev of page.events) {
          if (ev.seq <= this.last.get(chatId)) continue;
          this.last.set(chatId, ev.seq);
          if (ev.type === 'message') this.h.message(ev.message); else this.h.change(ev);
        }
        if (!page.hasMore) return;
      }
    };
    const next = (this.queues.get(chatId) || Promise.resolve()).then(run);
    this.queues.set(chatId, next);
    return next;
  }

  /** My unsent messages of the chat (not sent yet, or refused: `failed` says why), in the order written. */
  pendingFor(chatId) {
    return this.outbox.filter(i => i.chatId === chatId);
  }

  /** Queues a message; it goes out now if connected, else when the connection is back. */
  send(chatId, text, replyToSeq, mentions) {
    const item = { chatId, clientId: newId(), text, replyToSeq: replyToSeq ?? null, mentions: mentions?.length ? mentions : undefined, createdAt: new Date().toISOString() };
    this.updateOutbox(all => [...all, item]);
    this.h.pending(item);
    this.flush();
  }

  /** A refused message is tried again (its «Повторить»). */
  retry(clientId) {
    this.updateOutbox(all => all.map(i => i.clientId === clientId ? { ...i, failed: undefined, tries: 0 } : i));
    this.flush();
  }

  /** A refused message is given up (its «Удалить»). */
  discard(clientId) {
    this.updateOutbox(all => all.filter(i => i.clientId !== clientId));
  }

  storedOutbox() {
    try {
      const all = JSON.parse(localStorage.getItem(this.outboxKey) || '[]');
      return Array.isArray(all) ? all : [];
    } catch {
      return [];
    }
  }

  /**
   * Changes the outbox as stored, not as this page last saw it: another tab of the same person writes it too, and
   * its messages must not be lost to this tab's save.
   */
  updateOutbox(change) {
    this.outbox = change(this.storedOutbox());
    localStorage.setItem(this.outboxKey, JSON.stringify(this.outbox));
  }

  /**
   * Sends what is queued, chat by chat in the order written: a chat held back (slow mode) does not hold back the
   * others; a refused message stays, marked, and the next ones of its chat go on.
   */
  async flush() {
    if (this.flushing || this.connection.state !== signalR.HubConnectionState.Connected) return;
    this.flushing = true;
    let again = 0;
    try {
      const waiting = new Set(); // chats held back in this round
      for (;;) {
        const item = this.storedOutbox().find(i => !i.failed && !waiting.has(i.chatId));
        if (!item || this.connection.state !== signalR.HubConnectionState.Connected) break;
        try {
          const m = await this.connection.invoke('SendMessage', {
            chatId: item.chatId, clientId: item.clientId, text: item.text, replyToSeq: item.replyToSeq ?? undefined, mentions: item.mentions,
          });
          this.discard(item.clientId);
          this.h.sent?.(item, m);
          this.receive(m.chatId, m.seq, () => this.h.message(m));
        } catch (e) {
          const err = hubError(e);
          if (ALL_WAIT.has(err.code) || this.connection.state !== signalR.HubConnectionState.Connected) { again = 2000; break; }
          if (CHAT_WAITS.has(err.code)) { waiting.add(item.chatId); again = 5000; continue; }
          const tries = (item.tries || 0) + 1;
          if (!KNOWN_FINAL.has(err.code) && tries < MAX_TRIES) {
            this.updateOutbox(all => all.map(i => i.clientId === item.clientId ? { ...i, tries } : i));
            waiting.add(item.chatId);
            again = 2000;
            continue;
          }
          const failed = { code: err.code, message: err.message };
          this.updateOutbox(all => all.map(i => i.clientId === item.clientId ? { ...i, tries, failed } : i));
          this.h.sendFailed({ ...item, failed }, err);
        }
      }
    } finally {
      this.flushing = false;
    }
    if (again && this.connection.state === signalR.HubConnectionState.Connected) setTimeout(() => this.flush(), again);
  }
}
