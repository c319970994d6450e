// Polls inside a message: options with live results, voting, changing and taking back a vote, closing; quizzes (one
// right answer, final once given) and polls that close by themselves at a set time.

import { h, plural, dateTime } from './dom.js';
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
  const tags = [poll.anonymous ? 'Анонимный опрос' : 'Открытый опрос', poll.multiple && 'можно выбрать несколько', poll.quiz && 'викторина', closed && 'опрос завершён',
    !closed && poll.closesAt && 'завершится ' + dateTime.format(new Date(poll.closesAt))].filter(Boolean).join(' · ');
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
    !(poll.quiz && voted) && h('button', {
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

/**
 * Asks for a poll's question and options, and optionally makes it a quiz (one right answer, marked beside its option)
 * or sets when it closes (local time); resolves to what create(CreatePoll fields) returned, or null.
 */
export function pollDialog(create) {
  const list = h('div', { class: 'poll-options-edit' });
  const quiz = h('input', { type: 'checkbox', id: 'poll-new-quiz' });
  const multiple = h('input', { type: 'checkbox', id: 'poll-new-multiple' });
  const rows = [];
  let n = 0;
  const addOption = () => {
    if (rows.length >= 12) return;
    n++;
    const fid = 'poll-new-opt-' + n;
    const number = rows.length + 1;
    const text = h('input', { id: fid, type: 'text', maxlength: 100, class: 'poll-option-input' });
    const correct = h('input', { type: 'radio', name: 'poll-new-correct', 'aria-label': `Верный ответ № ${number}` });
    const mark = h('label', { class: 'poll-correct', hidden: !quiz.checked }, correct, ' верный');
    rows.push({ text, correct, mark });
    list.append(h('div', { class: 'field' }, h('label', { for: fid }, `Вариант ${number}`), h('div', { class: 'row' }, text, mark)));
  };
  addOption(); addOption();
  quiz.addEventListener('change', () => {
    for (const r of rows) r.mark.hidden = !quiz.checked;
    if (quiz.checked) multiple.checked = false; // a quiz has one right answer
    multiple.disabled = quiz.checked;
  });
  const pad = x => String(x).padStart(2, '0');
  const local = d => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const closes = h('input', { type: 'datetime-local', id: 'poll-new-closes', min: local(new Date()) });
  const extra = h('div', {}, list, h('button', { class: 'btn small', type: 'button', onclick: addOption }, 'Добавить вариант'));
  return formDialog({
    title: 'Новый опрос',
    fields: [
      { name: 'question', label: 'Вопрос', maxlength: 300, required: true },
    ],
    extra: [extra,
      h('div', { class: 'field check' }, h('label', {}, multiple, ' Можно выбрать несколько вариантов')),
      h('div', { class: 'field check' }, h('label', {}, h('input', { type: 'checkbox', id: 'poll-new-anonymous' }), ' Анонимный опрос (никто не увидит, кто как голосовал)')),
      h('div', { class: 'field check' }, h('label', {}, quiz, ' Викторина: отметьте верный ответ; ответ нельзя изменить, после ответа видно, верен ли он')),
      h('div', { class: 'field' }, h('label', { for: 'poll-new-closes' }, 'Завершить опрос (необязательно; ваше местное время)'), closes)],
    submit: 'Создать опрос',
    onSubmit: async v => {
      const filled = rows.filter(r => r.text.value.trim());
      const options = filled.map(r => r.text.value.trim());
      if (options.length < 2) throw new Error('Укажите хотя бы два варианта ответа.');
      let correctOptionId;
      if (quiz.checked) {
        correctOptionId = filled.findIndex(r => r.correct.checked); // option ids are their places in the list
        if (correctOptionId < 0) throw new Error('Отметьте верный ответ викторины (у заполненного варианта).');
      }
      let closesAt;
      if (closes.value) {
        const at = new Date(closes.value); // datetime-local is parsed as local time
        if (Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) throw new Error('Время завершения опроса должно быть в будущем.');
        closesAt = at.toISOString();
      }
      return create({
        question: v.question.trim(), options,
        multiple: multiple.checked,
        anonymous: document.getElementById('poll-new-anonymous').checked,
        quiz: quiz.checked, correctOptionId, closesAt,
      });
    },
  });
}
