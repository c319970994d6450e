// The page's service worker, for one thing only: showing system notifications where the page itself cannot (Chrome on
// Android has no `new Notification()`, only ServiceWorkerRegistration.showNotification). It caches nothing and handles
// no request: the page works as it did without it. A click on a notification focuses an open page of the messenger
// and asks it to open the chat (js/notify.js listens), or opens the messenger when none is open.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', event => event.waitUntil(self.clients.claim()));
self.addEventListener('notificationclick', event => {
  event.notification.close();
  const { chatId, schoolId } = event.notification.data || {};
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(pages => {
    const page = pages.find(p => new URL(p.url).pathname === '/'); // not a call's page: it has no chats to open
    // No page left (the notification outlived it, as Android keeps them): a new one opens straight in that chat.
    if (!page) return self.clients.openWindow(chatId ? '/?' + new URLSearchParams({ chat: chatId, school: schoolId || '' }) : '/');
    page.postMessage({ type: 'open-chat', chatId });
    return page.focus();
  }));
});
