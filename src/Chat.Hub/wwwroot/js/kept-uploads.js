// Unfinished resumable uploads kept across a reload: IndexedDB (`chat-uploads`, store `uploads`, keyed by the upload's
// id, chosen by the client and kept before the upload is declared) holds { uploadId, accountId, schoolId, chatId, caption, file } — the File itself is storable there, so
// after a reload the chat offers to continue from the server's offset without choosing the file again. A browser
// without IndexedDB (or refusing it) keeps nothing: uploads then live as long as the page, as before.

import { objectStore } from './idb.js';

const run = objectStore('chat-uploads', 'uploads', { keyPath: 'uploadId' });

/** Keeps an upload about to be declared (its id chosen by the client: the server takes it, and takes it again on a repeat). */
export function keepUpload(record) {
  return run('readwrite', s => { s.put({ ...record, keptAt: Date.now() }); }, undefined);
}

/** Forgets an upload: posted, refused, cancelled, expired or completed. */
export function dropUpload(uploadId) {
  return run('readwrite', s => { s.delete(uploadId); }, undefined);
}

/** The kept uploads of one chat of mine, oldest first. */
export async function keptUploads(accountId, schoolId, chatId) {
  const all = await run('readonly', (s, done) => {
    const get = s.getAll();
    get.onsuccess = () => done(get.result);
  }, []) ?? [];
  return all.filter(u => u.accountId === accountId && u.schoolId === schoolId && u.chatId === chatId)
    .sort((a, b) => a.keptAt - b.keptAt);
}

/** Forgets every kept upload (sign-out: the account's data leaves this browser). */
export function clearKeptUploads() {
  return run('readwrite', s => { s.clear(); }, undefined);
}
