// Polls inside a message: options with live results, voting, changing and taking back a vote, closing.

import { h, plural } from './dom.js';
import { formDialog } from './dialog.js';

let counter = 0;

/**
 * poll: PollDto; mine: the caller's option ids (null when not voted, undefined when unknown yet);
 * act: { vote(ids), retract(), close(), canClose, draft (ids chosen but not sent), onDraft(ids) }.
 */
export function renderPoll(poll, mine, act) {
  const id = 'poll' + ++counter;
  const closed = !!poll.closedAt;
  const voted = Array.isArray(mine) && mine.length > 0;
  const showResults = voted || closed || act.canClose; // the author and moderators always see the results
  const total = poll.totalVoters || 0;
  const tags = [poll.anonymous ? 'Анонимный опрос' : 'Открытый опрос', poll.multiple && 'можно выбрать несколько', poll.quiz && 'викторина', closed && 'опрос завершён'].filter(Boolean).join(' · ');
  const inputs = [];
  const options = poll.options.map(o => {
    const percent = total ? Math.round((o.votes / total) * 100) : 0;
    // A choice not sent yet survives re-rendering (live results, my own view arriving).
    const checked = act.draft ? act.draft.includes(o.id) : voted && mine.includes(o.id);
    const input = h('input', { type: poll.multiple ? 'checkbox' : 'radio', name: id, value: String(o.id), checked, disabled: closed, onchange: () => act.onDraft?.(chosen()) });
    inputs.push(input);
    const correct = poll.correctOptionId === o.id;
    return h('li', { class: 'poll-opt' + (voted && mine.includes(o.id) ? ' chosen' : '') + (correct ? ' correct' : '') },
      h('label', {}, input, ' ', h('span', { class: 'poll-text' }, o.text), correct && h('span', { class: 'verified' }, ' ✔ верный ответ'),
        showResults && h('span', { class: 'poll-votes', 'aria-label': `${o.votes} ${plural(o.votes, 'голос', 'голоса', 'голосов')}, ${percent}%` }, ` ${o.votes} · ${percent}%`)),
      showResults && h('div', { class: 'poll-bar', 'aria-hidden': 'true' }, h('div', { class: 'poll-fill', style: `width:${percent}%` })));
  });
  const chosen = () => inputs.filter(i => i.checked).map(i => Number(i.value));
  const err = h('p', { class: 'error', role: 'alert' });
  const run = async fn => { err.textContent = ''; try { await fn(); } catch (e) { err.textContent = e.message; } };
  const buttons = closed ? null : h('div', { class: 'row' },
    h('button', {
      class: 'btn small primary', type: 'button',
      onclick: () => run(async () => { const ids = chosen(); if (!ids.length) throw new Error('Выберите вариант ответа.'); await act.vote(ids); }),
    }, voted ? 'Изменить голос' : 'Голосовать'),
    voted && !poll.quiz && h('button', { class: 'btn small', type: 'button', onclick: () => run(act.retract) }, 'Отозвать голос'),
    act.canClose && h('button', { class: 'btn small', type: 'button', onclick: () => run(act.close) }, 'Завершить опрос'));
  return h('div', { class: 'poll', role: 'group', 'aria-label': 'Опрос: ' + poll.question },
    h('div', { class: 'poll-q' }, poll.question),
    h('div', { class: 'muted poll-tags' }, tags),
    h('ul', { class: 'list-plain' }, options),
    buttons, err,
    h('div', { class: 'muted poll-total' }, `Проголосовали: ${total}`, voted ? ' · ваш голос учтён' : ''),
    poll.answeredCorrectly !== undefined && poll.answeredCorrectly !== null && h('div', {}, poll.answeredCorrectly ? 'Верно!' : 'Неверно.'));
}

/** Asks for a poll's question and options; resolves to the CreatePoll fields or null. */
export function pollDialog(create) {
  const list = h('div', { class: 'poll-options-edit' });
  let n = 0;
  const addOption = () => {
    if (list.children.length >= 12) return;
    n++;
    const fid = 'poll-new-opt-' + n;
    list.append(h('div', { class: 'field' }, h('label', { for: fid }, `Вариант ${list.children.length + 1}`), h('input', { id: fid, type: 'text', maxlength: 100, class: 'poll-option-input' })));
  };
  addOption(); addOption();
  const extra = h('div', {}, list, h('button', { class: 'btn small', type: 'button', onclick: addOption }, 'Добавить вариант'));
  return formDialog({
    title: 'Новый опрос',
    fields: [
      { name: 'question', label: 'Вопрос', maxlength: 300, required: true },
    ],
    extra: [extra,
      h('div', { class: 'field check' }, h('label', {}, h('input', { type: 'checkbox', id: 'poll-new-multiple' }), ' Можно выбрать несколько вариантов')),
      h('div', { class: 'field check' }, h('label', {}, h('input', { type: 'checkbox', id: 'poll-new-anonymous' }), ' Анонимный опрос (никто не увидит, кто как голосовал)'))],
    submit: 'Создать опрос',
    onSubmit: async v => {
      const options = [...list.querySelectorAll('input')].map(i => i.value.trim()).filter(Boolean);
      if (options.length < 2) throw new Error('Укажите хотя бы два варианта ответа.');
      return create({
        question: v.question.trim(), options,
        multiple: document.getElementById('poll-new-multiple').checked,
        anonymous: document.getElementById('poll-new-anonymous').checked,
      });
    },
  });
}
