// An overflow menu: a button («Ещё») that opens a list of actions (WAI-ARIA menu button pattern). The items are the
// caller's buttons and links, given role=menuitem. Enter/Space/ArrowDown open it on the first item, ArrowUp on the
// last; arrows, Home and End move; Escape closes it and gives the focus back to the button; Tab, a click outside or
// choosing an item closes it
// (the focus goes back to the button, unless the item's action moves it on).

import { h } from './dom.js';

let counter = 0;

/**
 * items: buttons and links (false/null are left out). options.open: open at once (a re-render of an open menu),
 * options.focusIndex: the item to focus then (-1: leave the focus where it is). The returned element has .isOpen(),
 * .focusedIndex() and .dispose() for a re-render.
 */
export function menuButton(label, ariaLabel, items, options = {}) {
  const id = 'menu-' + (++counter);
  const entries = items.filter(Boolean);
  for (const item of entries) {
    item.setAttribute('role', 'menuitem');
    item.tabIndex = -1;
    item.className = 'menu-item';
    // Capture: closes (and focuses the button) before the item's own handler, which may move the focus on (a dialog).
    item.addEventListener('click', () => close(true), { capture: true });
  }
  const toggle = h('button', { class: 'btn small menu-toggle', type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-controls': id, 'aria-label': ariaLabel, title: ariaLabel }, label);
  const menu = h('div', { class: 'menu', role: 'menu', id, 'aria-label': ariaLabel, hidden: true }, entries);
  const wrap = h('div', { class: 'menu-wrap' }, toggle, menu);

  const focusAt = i => entries[(i + entries.length) % entries.length]?.focus();
  const current = () => entries.indexOf(document.activeElement);
  const onOutside = ev => { if (!wrap.contains(ev.target)) close(false); };

  function open(index) {
    if (!entries.length) return;
    menu.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', onOutside, true);
    if (index !== null) focusAt(index);
  }

  function close(refocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (refocus) toggle.focus();
  }

  toggle.addEventListener('click', () => (menu.hidden ? open(0) : close(true)));
  toggle.addEventListener('keydown', ev => {
    if (ev.key === 'ArrowDown') { ev.preventDefault(); open(0); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); open(-1); }
    else if (ev.key === 'Escape' && !menu.hidden) { ev.preventDefault(); close(true); }
  });
  menu.addEventListener('keydown', ev => {
    const i = current();
    switch (ev.key) {
      case 'ArrowDown': ev.preventDefault(); focusAt(i + 1); break;
      case 'ArrowUp': ev.preventDefault(); focusAt(i - 1); break;
      case 'Home': ev.preventDefault(); focusAt(0); break;
      case 'End': ev.preventDefault(); focusAt(-1); break;
      case 'Escape': ev.preventDefault(); ev.stopPropagation(); close(true); break;
      case 'Tab': close(false); break;
      case ' ': if (entries[i]?.tagName === 'A') { ev.preventDefault(); entries[i].click(); } break;
    }
  });

  wrap.isOpen = () => !menu.hidden;
  wrap.focusedIndex = () => current();
  wrap.dispose = () => document.removeEventListener('pointerdown', onOutside, true);
  if (options.open) queueMicrotask(() => { if (wrap.isConnected) open(options.focusIndex >= 0 ? Math.min(options.focusIndex, entries.length - 1) : null); });
  return wrap;
}
