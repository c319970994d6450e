// Charts drawn as SVG by hand (no third-party code): grouped bar charts with a legend. Numbers only, set as text.

import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** A nice upper bound for the axis: 1, 2, 5 × 10^n. */
function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * { title, labels[], series: [{ name, color, values[] }], every? (label every N-th category) } → a <figure> with the
 * chart (role img, with a text summary), its legend and caption.
 */
export function barChart({ title, labels, series, every = 1 }) {
  const width = 560, height = 240, left = 36, right = 8, top = 10, bottom = 34;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...series.flatMap(x => x.values)));
  const n = Math.max(labels.length, 1);
  const group = plotW / n;
  const barW = Math.max(2, Math.min(28, (group * 0.8) / series.length));
  const y = v => top + plotH - (v / max) * plotH;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': summary(title, labels, series) });
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: '#e5e7eb' }),
      s('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#667085' }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  labels.forEach((label, i) => {
    const x0 = left + group * i + (group - barW * series.length) / 2;
    series.forEach((ser, j) => {
      const v = ser.values[i] || 0;
      svg.append(s('rect', { x: x0 + j * barW, y: y(v), width: barW - 1, height: Math.max(0, top + plotH - y(v)), fill: ser.color, class: 'bar' },
        s('title', {}, `${label}: ${ser.name} — ${v}`)));
    });
    if (i % every === 0 || i === labels.length - 1) {
      svg.append(s('text', { x: left + group * i + group / 2, y: height - bottom + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#1b1f24' }, label));
    }
  });
  svg.append(s('line', { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, stroke: '#667085' }));
  return h('figure', { class: 'chart-box' },
    h('figcaption', {}, title),
    svg,
    h('ul', { class: 'legend list-plain' }, series.map(ser => h('li', {}, h('span', { class: 'swatch', style: `background:${ser.color}` }), ser.name))));
}

function summary(title, labels, series) {
  if (labels.length > 12) {
    return `${title}: ` + series.map(ser => `${ser.name} — всего ${ser.values.reduce((a, v) => a + v, 0)}`).join('; ');
  }
  return `${title}: ` + labels.map((l, i) => `${l}: ` + series.map(ser => `${ser.name.toLowerCase()} ${ser.values[i] || 0}`).join(', ')).join('; ');
}
