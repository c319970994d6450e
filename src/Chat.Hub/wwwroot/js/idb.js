// One IndexedDB object store, opened once per page and used a transaction at a time. No imports: the call page loads
// it (through js/tokens.js) without anything else of the chat.
//
// A browser without IndexedDB, or one that refuses it (private windows of some browsers, a blocked upgrade), gives
// every transaction its fallback instead of an error: what the store keeps is always a convenience here, never the
// only copy of anything.

/**
 * A store `store` of database `name` (version 1, created on first open with `options`, e.g. { keyPath: 'id' }).
 * Returns run(mode, work, fallback, timeoutMs): work(objectStore, done) issues its requests inside one transaction
 * and may call done(value) from their callbacks; run resolves to the last value given to done (undefined if none)
 * once the transaction has **committed** — so a write is durable for every other tab when it resolves — or to
 * `fallback` when IndexedDB is missing, the transaction fails or aborts, or timeoutMs passes first (when given).
 */
export function objectStore(name, store, options) {
  let opening = null;

  function open() {
    if (typeof indexedDB === 'undefined') return Promise.resolve(null);
    opening ??= new Promise(resolve => {
      try {
        const req = indexedDB.open(name, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(store, options);
        req.onsuccess = () => resolve(req.result);
        req.onerror = req.onblocked = () => resolve(null);
      } catch {
        resolve(null);
      }
    }).then(db => {
      if (!db) opening = null; // refused this time: a later call may try again
      return db;
    });
    return opening;
  }

  async function transact(mode, work, fallback) {
    const db = await open();
    if (!db) return fallback;
    return new Promise(resolve => {
      try {
        const tx = db.transaction(store, mode);
        let result;
        work(tx.objectStore(store), value => { result = value; });
        tx.oncomplete = () => resolve(result);
        tx.onerror = tx.onabort = () => resolve(fallback);
      } catch {
        resolve(fallback);
      }
    });
  }

  return function run(mode, work, fallback, timeoutMs) {
    const done = transact(mode, work, fallback);
    if (!timeoutMs) return done;
    // The time counts from the call, opening the database included.
    return Promise.race([done, new Promise(resolve => setTimeout(() => resolve(fallback), timeoutMs))]);
  };
}
