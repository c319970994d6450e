// School administration: school info, classes, invite links with QR codes, join requests.

import { api, ApiError } from './api.js';
import { h, mount, ROLE_NAMES, shortTime } from './dom.js';

const STATE_NAMES = { active: 'действует', expired: 'истекло', used_up: 'исчерпано', revoked: 'отозвано' };

export async function showAdmin(root, school, back) {
  const base = `/api/schools/${school.schoolId}`;
  const info = h('section', { 'aria-labelledby': 'adm-school' });
  const classesSec = h('section', { 'aria-labelledby': 'adm-classes' });
  const invitesSec = h('section', { 'aria-labelledby': 'adm-invites' });
  const requestsSec = h('section', { 'aria-labelledby': 'adm-requests' });
  mount(root,
    h('header', { class: 'topbar' },
      h('button', { class: 'btn small', onclick: back }, '← К чатам'),
      h('span', { class: 'title' }, 'Управление школой: ' + school.name)),
    h('div', { class: 'admin' }, info, classesSec, invitesSec, requestsSec));
  let classes = [];

  const errText = e => (e instanceof ApiError ? e.display : 'Что-то пошло не так.');

  async function loadInfo() {
    const s = await api('GET', base);
    const name = h('input', { type: 'text', value: s.name, maxlength: 200, required: true, id: 'adm-name' });
    const region = h('input', { type: 'text', value: s.region || '', maxlength: 200, id: 'adm-region' });
    const address = h('input', { type: 'text', value: s.address || '', maxlength: 500, id: 'adm-address' });
    const journal = h('input', { type: 'url', value: s.journalUrl || '', maxlength: 500, id: 'adm-journal' });
    const err = h('p', { class: 'error', role: 'alert' });
    info.replaceChildren(h('h2', { id: 'adm-school' }, 'Школа'),
      h('form', {
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          try {
            await api('PUT', base, { name: name.value.trim(), region: region.value.trim(), address: address.value.trim(), journalUrl: journal.value.trim() || undefined });
            err.textContent = 'Сохранено.';
          } catch (e) { err.textContent = errText(e); }
        },
      },
      labelled('Название', name), labelled('Регион', region), labelled('Адрес', address), labelled('Электронный журнал (ссылка)', journal),
      err, h('button', { class: 'btn primary', type: 'submit' }, 'Сохранить')));
  }

  async function loadClasses() {
    classes = await api('GET', `${base}/classes`);
    const name = h('input', { type: 'text', maxlength: 60, required: true, placeholder: 'например, 5А', id: 'adm-class-name' });
    const err = h('p', { class: 'error', role: 'alert' });
    classesSec.replaceChildren(h('h2', { id: 'adm-classes' }, 'Классы'),
      h('ul', { class: 'list-plain' }, classes.map(c => h('li', { style: 'padding:.2rem 0' }, c.name, c.kind === 'staff_room' ? ' (учительская)' : ''))),
      h('form', {
        class: 'row', style: 'margin-top:.6rem',
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          try {
            await api('POST', `${base}/classes`, { name: name.value.trim() });
            await loadClasses();
            await loadInvites();
          } catch (e) { err.textContent = errText(e); }
        },
      }, h('label', { for: 'adm-class-name' }, 'Новый класс'), name, h('button', { class: 'btn', type: 'submit' }, 'Создать класс')),
      err);
  }

  async function loadInvites() {
    const invites = await api('GET', `${base}/invites`);
    const pupilClasses = classes.filter(c => c.kind !== 'staff_room' && !c.archived);
    const role = h('select', { id: 'adm-inv-role' },
      h('option', { value: 'student' }, 'ученик'), h('option', { value: 'parent' }, 'родитель'), h('option', { value: 'teacher' }, 'учитель'));
    const cls = h('select', { id: 'adm-inv-class' }, pupilClasses.map(c => h('option', { value: c.id }, c.name)));
    const uses = h('input', { type: 'number', min: 1, max: 10000, id: 'adm-inv-uses', style: 'width:7rem' });
    const hours = h('input', { type: 'number', min: 1, max: 8784, id: 'adm-inv-hours', style: 'width:7rem' });
    role.addEventListener('change', () => { cls.disabled = role.value === 'teacher'; });
    const err = h('p', { class: 'error', role: 'alert' });
    const qr = h('div', { 'aria-live': 'polite' });
    const className = id => classes.find(c => c.id === id)?.name || '';
    invitesSec.replaceChildren(h('h2', { id: 'adm-invites' }, 'Ссылки-приглашения'),
      h('form', {
        class: 'row',
        onsubmit: async ev => {
          ev.preventDefault();
          err.textContent = '';
          try {
            await api('POST', `${base}/invites`, {
              role: role.value, classId: role.value === 'teacher' ? undefined : cls.value,
              maxUses: uses.value ? Number(uses.value) : undefined, expiresInHours: hours.value ? Number(hours.value) : undefined,
            });
            await loadInvites();
          } catch (e) { err.textContent = errText(e); }
        },
      },
      h('label', { for: 'adm-inv-role' }, 'Роль'), role,
      h('label', { for: 'adm-inv-class' }, 'Класс'), cls,
      h('label', { for: 'adm-inv-uses' }, 'Использований'), uses,
      h('label', { for: 'adm-inv-hours' }, 'Часов действия'), hours,
      h('button', { class: 'btn primary', type: 'submit' }, 'Создать ссылку')),
      err, qr,
      invites.length === 0 ? h('p', { class: 'muted' }, 'Ссылок пока нет.') : h('table', {},
        h('thead', {}, h('tr', {}, ['Роль', 'Класс', 'Ссылка', 'Использована', 'Состояние', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, invites.map(i => h('tr', {},
          h('td', {}, ROLE_NAMES[i.role] || i.role),
          h('td', {}, className(i.classId)),
          h('td', {}, h('input', { type: 'text', readonly: true, value: i.url, 'aria-label': 'Ссылка-приглашение', style: 'width:100%', onfocus: ev => ev.target.select() })),
          h('td', {}, `${i.uses}${i.maxUses ? ' из ' + i.maxUses : ''}`),
          h('td', {}, STATE_NAMES[i.state] || i.state),
          h('td', {}, h('div', { class: 'row' },
            h('button', {
              class: 'btn small', type: 'button',
              onclick: async () => {
                try {
                  const png = await api('GET', `${base}/invites/${i.id}/qr`);
                  qr.replaceChildren(h('figure', {}, h('img', { class: 'qr', src: URL.createObjectURL(png), alt: 'QR-код ссылки-приглашения' }),
                    h('figcaption', { class: 'muted' }, `QR-код: ${ROLE_NAMES[i.role] || i.role} ${className(i.classId)}`)));
                } catch (e) { err.textContent = errText(e); }
              },
            }, 'QR-код'),
            i.state === 'active' && h('button', {
              class: 'btn small', type: 'button',
              onclick: async () => { try { await api('DELETE', `${base}/invites/${i.id}`); await loadInvites(); } catch (e) { err.textContent = errText(e); } },
            }, 'Отозвать'))))))));
  }

  async function loadRequests() {
    const requests = await api('GET', `${base}/join-requests?status=pending`);
    const err = h('p', { class: 'error', role: 'alert' });
    const rows = [];
    for (const r of requests) {
      let child = null;
      if (r.role === 'parent' && !r.childId && r.classId) {
        const members = await api('GET', `${base}/members?classId=${r.classId}`);
        child = h('select', { 'aria-label': `Ребёнок для ${r.displayName}` },
          members.filter(m => m.roles.includes('student')).map(m => h('option', { value: m.accountId, selected: m.displayName === r.childName }, m.displayName)));
      }
      rows.push(h('tr', {},
        h('td', {}, r.displayName),
        h('td', {}, ROLE_NAMES[r.role] || r.role),
        h('td', {}, classes.find(c => c.id === r.classId)?.name || ''),
        h('td', {}, r.childName ? `указал(а) ребёнка: ${r.childName}` : '', child),
        h('td', {}, shortTime(r.createdAt)),
        h('td', {}, h('div', { class: 'row' },
          h('button', {
            class: 'btn small primary', type: 'button',
            onclick: async () => { try { await api('POST', `${base}/join-requests/${r.id}/approve`, { childId: child?.value || undefined }); await loadRequests(); } catch (e) { err.textContent = errText(e); } },
          }, 'Одобрить'),
          h('button', {
            class: 'btn small', type: 'button',
            onclick: async () => {
              const reason = prompt('Причина отказа (человек увидит её):');
              if (!reason) return;
              try { await api('POST', `${base}/join-requests/${r.id}/reject`, { reason }); await loadRequests(); } catch (e) { err.textContent = errText(e); }
            },
          }, 'Отклонить')))));
    }
    requestsSec.replaceChildren(h('h2', { id: 'adm-requests' }, 'Заявки на вступление'), err,
      requests.length === 0 ? h('p', { class: 'muted' }, 'Новых заявок нет.') : h('table', {},
        h('thead', {}, h('tr', {}, ['Кто', 'Роль', 'Класс', 'Ребёнок', 'Когда', ''].map(t => h('th', {}, t)))),
        h('tbody', {}, rows)));
  }

  try {
    await loadInfo();
    await loadClasses();
    await Promise.all([loadInvites(), loadRequests()]);
  } catch (e) {
    info.append(h('p', { class: 'error' }, errText(e)));
  }
  root.querySelector('.topbar button')?.focus();
}

function labelled(text, input) {
  return h('div', { class: 'field' }, h('label', { for: input.id }, text), input);
}
