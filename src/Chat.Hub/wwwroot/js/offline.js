// Offline reading: what the signed-in account last saw, kept on the device in IndexedDB so that the page shows it when
// the server cannot be reached. One database per account («chat.offline.<accountId>»): the school list (`GetChats`
// results per school), the person's schools, and the most recent messages of each opened chat (at most MAX_MESSAGES
// per chat, at most MAX_CHATS chats; the least recently opened go first) and the drafts typed into chats and not sent.
// Files are not kept, only the metadata the messages carry. Every way a session ends (endSession in api.js) deletes the account's database.
//
// Each chat record holds `seq`: the highest event seq whose effect its messages include (the client's catch-up
// position), so a chat read from here catches up from that seq once the connection is back.

const PREFIX = 'chat.offline.';
export const MAX_CHATS = 50;
export const MAX_MESSAGES = 200;

let store = null; // the open store of the signed-in account

/** The offline store of this account (one at a time: another account's store is closed first). */
export function offlineStore(accountId) {
  if (store?.accountId === accountId) return store;
  store?.close();
  store = new OfflineStore(accountId);
  return store;
}

/**
 * Deletes the account's offline data (its session ended, it signed out or was deleted), and whatever another account
 * may have left here (a browser keeps one session: tokens are shared by its tabs).
 */
export function forgetOffline(accountId) {
  store?.close();
  store = null;
  return Promise.all([accountId && remove(PREFIX + accountId), forgetOtherAccounts(null)]);
}

/** Deletes what other accounts left on this device (a new sign-in; a page that ended without knowing). */
export async function forgetOtherAccounts(accountId) {
  if (!self.indexedDB?.databases) return;
  try {
    const all = await indexedDB.databases();
    await Promise.all(all.filter(d => d.name?.startsWith(PREFIX) && d.name !== PREFIX + (accountId ?? '')).map(d => remove(d.name)));
  } catch { /* nothing to clean */ }
}

function remove(name) {
  return new Promise(resolve => {
    if (!self.indexedDB) { resolve(); return; }
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
}

const done = r => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });

class OfflineStore {
  constructor(accountId) {
    this.accountId = accountId;
    this.closed = false;
    this.writes = Promise.resolve(); // writes run one after another (a merge reads what the previous write left)
    this.db = new Promise(resolve => {
      if (!self.indexedDB) { resolve(null); return; }
      const r = indexedDB.open(PREFIX + accountId, 1);
      r.onupgradeneeded = () => {
        r.result.createObjectStore('meta');
        r.result.createObjectStore('lists', { keyPath: 'schoolId' });
        r.result.createObjectStore('chats', { keyPath: 'chatId' });
      };
      r.onsuccess = () => {
        const db = r.result;
        db.onversionchange = () => db.close(); // deleted from another tab (signed out there)
        if (this.closed) { db.close(); resolve(null); } else resolve(db);
      };
      r.onerror = r.onblocked = () => resolve(null);
    });
  }

  close() {
    this.closed = true;
    this.db.then(db => db?.close());
  }

  /** Runs fn(objectStores) in one transaction; resolves to fn's result, or null when there is no storage. */
  async tx(names, mode, fn) {
    const db = await this.db;
    if (!db || this.closed) return null;
    try {
      const t = db.transaction(names, mode);
      const complete = new Promise((resolve, reject) => { t.oncomplete = resolve; t.onerror = t.onabort = () => reject(t.error); });
      const result = await fn(...names.map(n => t.objectStore(n)));
      await complete;
      return result;
    } catch {
      return null; // storage full or gone: the page works without it
    }
  }

  write(names, fn) {
    this.writes = this.writes.then(() => this.tx(names, 'readwrite', fn));
    return this.writes;
  }

  /** The person's schools (`GET /api/me/schools`) as last read. */
  schools() {
    return this.tx(['meta'], 'readonly', meta => done(meta.get('schools')));
  }

  saveSchools(schools) {
    return this.write(['meta'], meta => meta.put(schools, 'schools'));
  }

  /** What was typed and not sent, per chat: { chatId: text } (the composer's draft). */
  async drafts() {
    return (await this.tx(['meta'], 'readonly', meta => done(meta.get('drafts')))) || {};
  }

  /** One chat's draft (empty: none), changed in place: another tab's drafts of other chats stay as they are. */
  saveDraft(chatId, text) {
    return this.write(['meta'], async meta => {
      const all = (await done(meta.get('drafts'))) || {};
      if (text) all[chatId] = text; else delete all[chatId];
      meta.put(all, 'drafts');
    });
  }

  /** Every school's chat list as last read: { schoolId: ChatSummaryDto[] }. */
  async chatLists() {
    const lists = await this.tx(['lists'], 'readonly', lists => done(lists.getAll()));
    return lists && Object.fromEntries(lists.map(l => [l.schoolId, l.chats]));
  }

  /** Replaces the chat lists of these schools (a `GetChats` answer grouped by school; a school with none gets []). */
  saveChatLists(bySchool) {
    return this.write(['lists'], lists => { for (const [schoolId, chats] of Object.entries(bySchool)) lists.put({ schoolId, chats }); });
  }

  /** A chat's record: { chatId, schoolId, seq, complete, openedAt, messages (oldest first), members }, or null. */
  chat(chatId) {
    return this.tx(['chats'], 'readonly', chats => done(chats.get(chatId))).then(r => r || null);
  }

  /**
   * Keeps the open chat: its newest messages up to `seq` (the catch-up position), whether they reach the chat's first
   * message, and its members (names for mentions). Opening a chat (opened) makes it the most recently opened.
   */
  saveChat(chatId, { schoolId, seq, complete, messages, members, opened }) {
    const sorted = [...messages].sort((a, b) => a.seq - b.seq);
    const kept = sorted.slice(-MAX_MESSAGES);
    return this.write(['chats'], async chats => {
      const old = await done(chats.get(chatId));
      chats.put({
        chatId, schoolId, seq, members: members ?? old?.members ?? [], messages: kept,
        complete: complete && kept.length === sorted.length, openedAt: opened || !old ? Date.now() : old.openedAt,
      });
      const all = await done(chats.getAll());
      if (all.length > MAX_CHATS) {
        for (const r of all.sort((a, b) => a.openedAt - b.openedAt).slice(0, all.length - MAX_CHATS)) chats.delete(r.chatId);
      }
    });
  }

  /**
   * A new or changed message of a chat that is not open (a push): merged into its record when the chat was kept. The
   * record's seq moves only when the event is the next one, so a gap is caught up when the chat is opened again.
   */
  mergeEvent(chatId, seq, message) {
    return this.write(['chats'], async chats => {
      const r = await done(chats.get(chatId));
      if (!r || seq <= r.seq) return;
      const i = r.messages.findIndex(m => m.seq === message.seq);
      if (i >= 0) {
        if (r.messages[i].version <= message.version) r.messages[i] = message;
      } else if (message.seq > (r.messages.at(-1)?.seq ?? 0)) {
        r.messages.push(message);
        if (r.messages.length > MAX_MESSAGES) { r.messages.splice(0, r.messages.length - MAX_MESSAGES); r.complete = false; }
      }
      if (seq === r.seq + 1) r.seq = seq;
      chats.put(r);
    });
  }
}
