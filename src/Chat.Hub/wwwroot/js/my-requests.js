// «Мои заявки»: the person's own join requests (GET /api/me/join-requests) — waiting, or refused with the school's
// reason — on the choice of school and in «Профиль» (a parent already in one school asks to join a second one).

import { api } from './api.js';
import { h, ROLE_NAMES, shortTime } from './dom.js';

/**
 * The section, or null when there is nothing to show (or the list could not be read): each school's newest request
 * per role that waits, or was refused while I am not in that school. check: «Проверить», shown while one waits.
 */
export async function myRequestsSection(mySchoolIds, check) {
  let requests;
  try { requests = await api('GET', '/api/me/join-requests'); } catch { return null; }
  const seen = new Set();
  const shown = requests.filter(r => {
    const key = r.schoolId + r.role;
    if (seen.has(key)) return false;
    seen.add(key);
    return r.status === 'pending' || (r.status === 'rejected' && !mySchoolIds.includes(r.schoolId));
  });
  if (!shown.length) return null;
  const what = r => [r.schoolName, ROLE_NAMES[r.role]?.toLowerCase(), r.className && `класс ${r.className}`, r.childName && `ребёнок: ${r.childName}`].filter(Boolean).join(' · ');
  const waiting = shown.some(r => r.status === 'pending');
  const section = h('section', { class: 'my-requests', 'aria-labelledby': 'my-requests-title' },
    h('h2', { id: 'my-requests-title' }, 'Мои заявки'),
    h('ul', { class: 'list-plain' }, shown.map(r => h('li', { class: 'request ' + r.status },
      h('strong', {}, what(r)), h('br'),
      r.status === 'pending'
        ? h('span', { class: 'muted' }, `Ожидает рассмотрения с ${shortTime(r.createdAt)}. Когда заявку одобрят, школа появится в вашем списке.`)
        : h('span', { class: 'error' }, `Заявка отклонена${r.decidedAt ? ' ' + shortTime(r.decidedAt) : ''}. Причина: ${r.reason || 'не указана'}`)))),
    waiting && check && h('button', { class: 'btn small', type: 'button', onclick: check }, 'Проверить'));
  section.waiting = waiting;
  return section;
}
