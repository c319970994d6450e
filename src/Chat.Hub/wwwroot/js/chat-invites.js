// A chat's invite links in «О чате» (subject chats and groups, for the chat's owners and moderators): «Ссылка-приглашение»
// makes a new link and shows it with its QR code; the chat's active links are listed (when made, by whom, until when,
// how often used) with their QR code and «Отозвать» (asked first). Revoking stops new joins; who joined stays.

import { api } from './api.js';
import { h, fill, plural, dateTime } from './dom.js';
import { formDialog } from './dialog.js';

export const INVITE_KINDS = new Set(['subject', 'group']);

/** The section for chat c; nameOf(accountId) names a member of the chat (the link's maker, when still in it). */
export function chatInvitesBox(c, nameOf) {
  const created = h('div', { class: 'chat-invite', 'aria-live': 'polite' });
  const heading = h('h3', { style: 'margin-top:1rem', tabindex: '-1', id: `chat-invites-${c.id}` }, 'Действующие ссылки');
  const list = h('div', { class: 'chat-invite-list', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Загрузка…'));
  const make = h('button', { class: 'btn small', type: 'button', onclick: create }, 'Ссылка-приглашение');
  const box = h('section', { class: 'chat-invites', 'aria-labelledby': heading.id },
    h('div', { class: 'row', style: 'margin-top:.5rem' }, make), created, heading, list);
  load();
  return box;

  async function create() {
    try {
      const link = await api('POST', `/api/chats/${c.id}/invites`, {});
      fill(created, h('label', { for: `chat-invite-url-${c.id}`, class: 'muted' }, 'Ссылка в чат (с его правилами)'),
        h('input', { id: `chat-invite-url-${c.id}`, type: 'text', readonly: true, value: link.url, style: 'width:100%', onfocus: ev => ev.target.select() }));
      await showQr(link, created, 'QR-код ссылки в чат');
    } catch (e) {
      fill(created, h('p', { class: 'error' }, e.display || 'Не удалось создать ссылку.'));
    }
    await load();
  }

  async function load() {
    let links;
    try {
      links = (await api('GET', `/api/chats/${c.id}/invites`)).filter(i => i.state === 'active');
    } catch (e) {
      fill(list, h('p', { class: 'error' }, e.display || 'Не удалось загрузить ссылки.'));
      return;
    }
    fill(list, links.length === 0
      ? h('p', { class: 'muted' }, 'Действующих ссылок нет.')
      : h('ul', { class: 'list-plain chat-invite-links' }, links.map(linkItem)));
  }

  function linkItem(i) {
    const when = dateTime.format(new Date(i.createdAt));
    const qr = h('div', { class: 'invite-qr' });
    const by = nameOf(i.createdBy);
    const uses = `использована ${i.uses} ${plural(i.uses, 'раз', 'раза', 'раз')}${i.maxUses ? ` из ${i.maxUses}` : ''}`;
    const until = i.expiresAt ? `до ${dateTime.format(new Date(i.expiresAt))}` : 'бессрочная';
    return h('li', { class: 'chat-invite-link', dataset: { inviteId: i.id } },
      h('input', { type: 'text', readonly: true, value: i.url, 'aria-label': `Ссылка от ${when}`, style: 'width:100%', onfocus: ev => ev.target.select() }),
      h('div', { class: 'muted', style: 'font-size:.85rem' }, [`создана ${when}`, by && `— ${by}`, `· ${until} · ${uses}`].filter(Boolean).join(' ')),
      h('div', { class: 'row' },
        h('button', { class: 'btn link small', type: 'button', 'aria-label': `QR-код ссылки от ${when}`, onclick: () => showQr(i, qr, `QR-код ссылки от ${when}`) }, 'QR-код'),
        h('button', { class: 'btn small danger', type: 'button', 'aria-label': `Отозвать ссылку от ${when}`, onclick: () => revoke(i, when) }, 'Отозвать')),
      qr);
  }

  async function showQr(link, el, alt) {
    try {
      const png = await api('GET', `/api/chats/${c.id}/invites/${link.id}/qr`);
      const figure = h('figure', {}, h('img', { class: 'qr', src: URL.createObjectURL(png), alt }), h('figcaption', { class: 'muted' }, alt));
      if (el === created) el.append(figure); else fill(el, figure);
    } catch (e) {
      if (el !== created) fill(el, h('p', { class: 'error' }, e.display || 'Не удалось получить QR-код.'));
    }
  }

  async function revoke(i, when) {
    const done = await formDialog({
      title: 'Отозвать ссылку?',
      text: `Ссылка от ${when} перестанет действовать: по ней больше никто не вступит в чат (в том числе по QR-коду). Кто уже вступил, останется в чате.`,
      submit: 'Отозвать',
      onSubmit: async () => { await api('DELETE', `/api/chats/${c.id}/invites/${i.id}`); },
    });
    if (!done) return;
    if (created.querySelector('input')?.value === i.url) fill(created);
    await load();
    heading.focus(); // the link's buttons are gone with it
  }
}
