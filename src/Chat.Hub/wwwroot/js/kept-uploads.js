// Unfinished resumable uploads kept across a reload: IndexedDB (`chat-uploads`, store `uploads`, keyed by the server's
// upload id) holds { uploadId, accountId, schoolId, chatId, caption, file } — the File itself is storable there, so
// after a reload the chat offers to continue from the server's offset without choosing the file again. A browser
// without IndexedDB (or refusing it) keeps nothing: uploads then live as long as the page, as before.

const DB_NAME = 'chat-uploads';
const STORE = 'uploads';

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'uploadId' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    opening.catch(() => { opening = null; });
  }
  return opening;
}

/** Runs one request on the store; resolves to its result, or to fallback when IndexedDB is unavailable or fails. */
async function run(mode, work, fallback) {
  try {
    const store = (await db()).transaction(STORE, mode).objectStore(STORE);
    return await new Promise((resolve, reject) => {
      const req = work(store);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } catch {
    return fallback;
  }
}

/** Keeps an upload that has started (its id is the server's). */
export function keepUpload(record) {
  return run('readwrite', s => s.put({ ...record, keptAt: Date.now() }), undefined);
}

/** Forgets an upload: posted, refused, cancelled, expired or completed. */
export function dropUpload(uploadId) {
  return run('readwrite', s => s.delete(uploadId), undefined);
}

/** The kept uploads of one chat of mine, oldest first. */
export async function keptUploads(accountId, schoolId, chatId) {
  const all = await run('readonly', s => s.getAll(), []);
  return all.filter(u => u.accountId === accountId && u.schoolId === schoolId && u.chatId === chatId)
    .sort((a, b) => a.keptAt - b.keptAt);
}

/** Forgets every kept upload (sign-out: the account's data leaves this browser). */
export function clearKeptUploads() {
  return run('readwrite', s => s.clear(), undefined);
}
