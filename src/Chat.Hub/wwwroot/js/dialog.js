// Modal forms on the native <dialog> element (focus is trapped and Escape closes it, keyboard only works); notices.

import { h } from './dom.js';

let counter = 0;

/**
 * Shows a form in a modal dialog. fields: [{ name, label, type: text|textarea|select|date|number|checkbox, options:
 * [{ value, label }], value, required, min, max, maxlength }]. onSubmit(values) may throw: its message is shown and the
 * dialog stays open. Resolves to what onSubmit returned, or null when cancelled.
 */
export function formDialog({ title, text, fields = [], submit = 'Сохранить', onSubmit, extra }) {
  return new Promise(resolve => {
    const id = 'dlg' + ++counter;
    const inputs = {};
    const err = h('p', { class: 'error', role: 'alert' });
    const rows = fields.map(f => {
      const fid = `${id}-${f.name}`;
      let input;
      if (f.type === 'select') {
        input = h('select', { id: fid, required: f.required }, f.options.map(o => h('option', { value: o.value, selected: o.value === f.value }, o.label)));
      } else if (f.type === 'textarea') {
        input = h('textarea', { id: fid, rows: 3, maxlength: f.maxlength, required: f.required });
        input.value = f.value || '';
      } else if (f.type === 'checkbox') {
        input = h('input', { id: fid, type: 'checkbox', checked: !!f.value });
        inputs[f.name] = input;
        return h('div', { class: 'field check' }, h('label', { for: fid }, input, ' ', f.label));
      } else {
        input = h('input', { id: fid, type: f.type || 'text', required: f.required, min: f.min, max: f.max, maxlength: f.maxlength });
        if (f.value !== undefined) input.value = f.value;
      }
      inputs[f.name] = input;
      return h('div', { class: 'field' }, h('label', { for: fid }, f.label), input);
    });
    const ok = h('button', { class: 'btn primary', type: 'submit' }, submit);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': id + '-t' });
    let result = null;
    const form = h('form', {
      onsubmit: async ev => {
        ev.preventDefault();
        err.textContent = '';
        ok.disabled = true;
        const values = {};
        for (const [k, el] of Object.entries(inputs)) values[k] = el.type === 'checkbox' ? el.checked : el.value;
        try {
          result = onSubmit ? (await onSubmit(values)) ?? true : values;
          dialog.close();
        } catch (e) {
          err.textContent = e?.display || e?.message || 'Что-то пошло не так.';
        } finally {
          ok.disabled = false;
        }
      },
    },
    h('h2', { id: id + '-t' }, title),
    text && h('p', { class: 'muted' }, text),
    rows, extra, err,
    h('div', { class: 'row' }, ok, h('button', { class: 'btn', type: 'button', onclick: () => dialog.close() }, 'Отмена')));
    dialog.append(form);
    dialog.addEventListener('close', () => { dialog.remove(); resolve(result); });
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector('input, select, textarea') || ok).focus();
  });
}

/** Shows content (an image, say) in a modal dialog with a close button. */
export function viewDialog(title, content) {
  const dialog = h('dialog', { class: 'dialog viewer', 'aria-label': title },
    h('div', { class: 'row' }, h('strong', { style: 'flex:1' }, title), h('button', { class: 'btn small', type: 'button', onclick: () => dialog.close() }, 'Закрыть')),
    content);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/**
 * A short notice in the toast stack at the bottom right (the chat view's, shared with call reminders; a page without one
 * gets its own): an error (role="alert") or information (role="status"). It goes by itself after a few seconds or with
 * its close button; the page goes on, unlike with the browser's native alert.
 */
export function notice(text, { kind = 'error', timeout = 6000 } = {}) {
  const stack = document.querySelector('.toasts') || document.body.appendChild(h('div', { class: 'toasts own' }));
  const close = () => {
    el.remove();
    if (stack.classList.contains('own') && !stack.children.length) stack.remove();
  };
  const el = h('div', { class: `toast notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'notice-text' }, text),
    h('button', { class: 'btn link small', type: 'button', 'aria-label': 'Закрыть', title: 'Закрыть', onclick: close }, '✕'));
  stack.append(el);
  setTimeout(close, timeout);
  return el;
}
