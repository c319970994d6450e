// A tiny element builder: h('button', { class: 'btn', onclick }, 'Текст'). Text is always set as text, never as HTML.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces an element's children; false, null and undefined are left out, arrays are flattened. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let screens = 0;

/**
 * How many screens have been mounted so far. A screen that loads before it is shown (the router) notes the count when
 * it starts and gives way when it has changed meanwhile: the person has gone elsewhere (the profile) and stays there.
 */
export const screenCount = () => screens;

/** Shows a screen: replaces everything in the app's root. */
export function mount(root, ...children) {
  screens++;
  root.replaceChildren();
  append(root, children);
  root.removeAttribute('aria-busy');
}

const timeFormat = new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'short' });

export function shortTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date().toDateString() === d.toDateString() ? timeFormat.format(d) : dateFormat.format(d);
}

export function time(iso) {
  return iso ? timeFormat.format(new Date(iso)) : '';
}

export function plural(n, one, few, many) {
  const m10 = n % 10, m100 = n % 100;
  return m10 === 1 && m100 !== 11 ? one : m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14) ? few : many;
}

export const ROLE_NAMES = {
  admin: 'администратор', director: 'директор', teacher: 'учитель', class_teacher: 'классный руководитель',
  student: 'ученик', parent: 'родитель', chat: 'участник чата',
};

/** YYYY-MM-DD of a local date (the reader's time zone): an export's file name, a statistics day. */
export function localDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A date with its time («27 ноября, 16:04»), in the reader's time zone. */
export const dateTime = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' });

// A UTC time in a message (the server's announcement of a planned call): shown in the reader's local time.
const ISO_UTC = /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z)/;

/** Appends text to an element with every ISO 8601 UTC time in it as a <time> in local time (text nodes only). */
export function appendTimes(el, text) {
  for (const [i, part] of text.split(ISO_UTC).entries()) {
    const d = i % 2 ? new Date(part) : null;
    el.append(d && !Number.isNaN(d.getTime()) ? h('time', { datetime: part }, dateTime.format(d)) : part);
  }
}

/** The same for plain text (the chat list's preview). */
export function localTimes(text) {
  return text.replace(new RegExp(ISO_UTC.source, 'g'), iso => { const d = new Date(iso); return Number.isNaN(d.getTime()) ? iso : dateTime.format(d); });
}
