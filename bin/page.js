'use strict';
// The sweep's report: `svg(result)`, the charts as one standalone SVG, and `html(result)`, a
// self-contained page (inline CSS and SVG; no script, font or request of any kind) with the run's
// parameters, the knee, the recommendation and the notes, three charts and the table of levels.
//
// Charts: (1) goodput and refused requests (429 + 503) per second against concurrency, the knee
// marked; (2) p50 and p99 latency against concurrency; (3) when the sweep ran an adaptive pool,
// its limit over time. Levels are spaced evenly by index (1, 5, 10, 20, 40, 80 sit at equal
// steps), so the x axis is categorical, not to scale. Every y axis starts at 0 and has round tick
// values (1, 2 or 5 × 10^k). Series differ by dash and marker as well as by colour (Okabe–Ito,
// safe for colour-blind readers), and each chart has a legend. Every string taken from the result
// is escaped. The page switches to narrower charts and a card layout for the table on a phone.

const esc = s => String(s).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]);
const finite = x => typeof x === 'number' && Number.isFinite(x);

/** A number for people: thousands separated, `digits` decimals; '–' when absent. */
function fmt(x, digits = 0) {
  if (!finite(x)) return '–';
  return x.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
}
/** An ISO date as `2026-12-01 20:40:12 UTC`; anything else as given. */
function when(iso) {
  const d = typeof iso === 'string' && /^\d{4}-\d\d-\d\dT/.test(iso) ? new Date(iso) : undefined;
  return d && Number.isFinite(d.getTime()) ? `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` : String(iso);
}
const pct = (x, digits = 1) => (finite(x) ? `${fmt(x * 100, digits)}%` : '–');

/**
 * Round ticks from 0 to at least `max`: a step of 1, 2 or 5 × 10^k chosen so that there are at
 * most `count` intervals (429 → 0, 100, …, 500). A max that is not a positive number gives 0, 1.
 * Returns {ticks, step, decimals}, ticks exact to the step's decimals.
 */
function niceTicks(max, count = 5) {
  if (!finite(max) || max <= 0) return {ticks: [0, 1], step: 1, decimals: 0};
  const raw = max / Math.max(1, Math.floor(count));
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw * (1 - 1e-9));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const n = Math.ceil(max / step - 1e-9);
  const ticks = [];
  for (let i = 0; i <= n; i++) ticks.push(Number((i * step).toFixed(decimals)));
  return {ticks, step: Number(step.toFixed(decimals)), decimals};
}

// Okabe & Ito's palette; each series also has its own dash and marker.
const C = {blue: '#0072B2', vermillion: '#D55E00', green: '#009E73', purple: '#CC79A7', orange: '#E69F00', sky: '#56B4E9', grey: '#6b6b6b', ink: '#1d1d1f'};
const DASH = {solid: '', dashed: '7 4', dotted: '2 3', dashdot: '8 3 2 3'};

const charWidth = font => font * 0.62; // DejaVu Sans and most system fonts stay under this per character
const textWidth = (s, font) => String(s).length * charWidth(font);

function marker(kind, x, y, r, color) {
  const p = (...xy) => xy.map(v => v.toFixed(1)).join(',');
  const common = `fill="${color}" stroke="#fff" stroke-width="1"`;
  switch (kind) {
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${(2 * r).toFixed(1)}" height="${(2 * r).toFixed(1)}" ${common}/>`;
    case 'triangle':
      return `<polygon points="${p(x, y - r * 1.2)} ${p(x + r * 1.1, y + r * 0.8)} ${p(x - r * 1.1, y + r * 0.8)}" ${common}/>`;
    case 'diamond':
      return `<polygon points="${p(x, y - r * 1.3)} ${p(x + r * 1.1, y)} ${p(x, y + r * 1.3)} ${p(x - r * 1.1, y)}" ${common}/>`;
    case 'cross':
      return `<path d="M${p(x - r, y - r)}L${p(x + r, y + r)}M${p(x - r, y + r)}L${p(x + r, y - r)}" stroke="${color}" stroke-width="2" fill="none"/>`;
    case 'none':
      return '';
    default:
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}" ${common}/>`;
  }
}

/**
 * One line chart as an <svg> string. x is categorical (`categories`, points at [index, y]) or
 * numeric (`xMax`, points at [x, y]). `rules` are vertical (`x`) or horizontal (`y`) reference
 * lines with a label. Everything is laid out inside the viewBox W × H.
 */
function lineChart(spec) {
  const {W, H, font, title, yTitle, xTitle, series, categories, rules = [], id} = spec;
  const small = font * 0.9;
  const pad = 10;
  let y = pad + font * 1.1;
  const parts = [];
  parts.push(`<text class="chart-title" x="${pad}" y="${y.toFixed(1)}" font-size="${(font * 1.1).toFixed(1)}" font-weight="600" fill="${C.ink}">${esc(title)}</text>`);

  // Legend: entries flow left to right, wrapping to the next row.
  const entries = [...series.filter(s => !s.hideInLegend), ...rules.filter(r => r.legend).map(r => ({...r.legend, rule: true}))];
  const sample = font * 2.4;
  const rowH = font * 1.5;
  let lx = pad;
  y += rowH * 0.95;
  const legend = [];
  for (const e of entries) {
    const w = sample + 6 + textWidth(e.name, small) + font * 1.2;
    if (lx + w > W - pad && lx > pad) {
      lx = pad;
      y += rowH;
    }
    const cy = y - small * 0.35;
    legend.push(
      `<g class="legend-item" data-series="${esc(e.key ?? e.name)}">` +
        `<line x1="${lx.toFixed(1)}" y1="${cy.toFixed(1)}" x2="${(lx + sample).toFixed(1)}" y2="${cy.toFixed(1)}" stroke="${e.color}" stroke-width="${e.rule ? 1.5 : 2.5}" stroke-dasharray="${DASH[e.dash] ?? ''}"/>` +
        marker(e.marker ?? 'none', lx + sample / 2, cy, font * 0.3, e.color) +
        `<text x="${(lx + sample + 6).toFixed(1)}" y="${y.toFixed(1)}" font-size="${small.toFixed(1)}" fill="${C.ink}">${esc(e.name)}</text></g>`,
    );
    lx += w;
  }
  parts.push(`<g class="legend">${legend.join('')}</g>`);

  // Axes: y ticks from 0 to a round maximum.
  const values = series.flatMap(s => s.points.map(pt => pt[1])).concat(rules.filter(r => r.y !== undefined).map(r => r.y));
  const {ticks, decimals} = niceTicks(Math.max(0, ...values.filter(finite)), spec.yTickCount ?? 5);
  const tickText = ticks.map(t => fmt(t, decimals));
  y += rowH * 0.5;
  const yTitleY = y + small;
  parts.push(`<text class="axis-title axis-title-y" x="${pad}" y="${yTitleY.toFixed(1)}" font-size="${small.toFixed(1)}" fill="${C.grey}">${esc(yTitle)}</text>`);
  const left = pad + Math.max(...tickText.map(t => textWidth(t, small))) + 8;
  // A numeric x axis ends on a tick whose label is centred on the edge: leave room for its half.
  const xNice = categories ? undefined : niceTicks(spec.xMax, spec.xTickCount ?? 6);
  const lastX = xNice ? fmt(xNice.ticks[xNice.ticks.length - 1], xNice.decimals) : '';
  const right = W - pad - Math.max(font * 0.6, textWidth(lastX, small) / 2 + 2);
  const top = yTitleY + font * 0.9;
  const bottom = H - pad - font * 1.2 - small * 1.6;
  const plotH = bottom - top;
  const yMax = ticks[ticks.length - 1];
  const Y = v => bottom - (v / yMax) * plotH;
  let X;
  let xTicks;
  if (categories) {
    const band = (right - left) / categories.length;
    X = i => left + (i + 0.5) * band;
    // Many levels on a narrow chart: label every n-th level so that no two labels touch.
    const widest = Math.max(0, ...categories.map(c => textWidth(c, small)));
    const every = Math.max(1, Math.ceil((widest + 8) / band));
    xTicks = categories.map((c, i) => ({x: X(i), label: i % every === 0 ? String(c) : undefined}));
  } else {
    const nt = xNice;
    const xMax = nt.ticks[nt.ticks.length - 1];
    X = v => left + (v / xMax) * (right - left);
    xTicks = nt.ticks.map(t => ({x: X(t), label: fmt(t, nt.decimals), numeric: true}));
  }

  const grid = ticks
    .map((t, i) => {
      const ty = Y(t);
      return (
        `<line x1="${left.toFixed(1)}" y1="${ty.toFixed(1)}" x2="${right.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="${i === 0 ? '#8a8a8a' : '#e3e3e3'}" stroke-width="1"/>` +
        `<text class="tick tick-y" x="${(left - 6).toFixed(1)}" y="${(ty + small * 0.35).toFixed(1)}" text-anchor="end" font-size="${small.toFixed(1)}" fill="${C.grey}">${tickText[i]}</text>`
      );
    })
    .join('');
  parts.push(`<g class="grid">${grid}</g>`);
  const xt = xTicks
    .map(
      t =>
        `<line x1="${t.x.toFixed(1)}" y1="${bottom.toFixed(1)}" x2="${t.x.toFixed(1)}" y2="${(bottom + 4).toFixed(1)}" stroke="#8a8a8a"/>` +
        (t.label === undefined
          ? ''
          : `<text class="tick ${t.numeric ? 'tick-x-num' : 'tick-x'}" x="${t.x.toFixed(1)}" y="${(bottom + 6 + small * 1.1).toFixed(1)}" text-anchor="middle" font-size="${small.toFixed(1)}" fill="${C.grey}">${esc(t.label)}</text>`),
    )
    .join('');
  parts.push(`<g class="x-axis">${xt}</g>`);
  parts.push(`<text class="axis-title axis-title-x" x="${((left + right) / 2).toFixed(1)}" y="${(H - pad).toFixed(1)}" text-anchor="middle" font-size="${small.toFixed(1)}" fill="${C.grey}">${esc(xTitle)}</text>`);

  // Reference lines (the knee), under the series.
  const labels = [];
  for (const r of rules) {
    if (r.x !== undefined) {
      const rx = X(r.x);
      parts.push(`<line class="rule" x1="${rx.toFixed(1)}" y1="${top.toFixed(1)}" x2="${rx.toFixed(1)}" y2="${bottom.toFixed(1)}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="${DASH[r.dash] ?? ''}"/>`);
      if (r.label) {
        const w = textWidth(r.label, small);
        const toLeft = rx + 4 + w > right;
        const tx = toLeft ? rx - 4 : rx + 4;
        labels.push({x: tx, y: top + small, anchor: toLeft ? 'end' : 'start', text: r.label, color: r.color, w});
      }
    } else if (r.y !== undefined) {
      const ry = Y(r.y);
      parts.push(`<line class="rule" x1="${left.toFixed(1)}" y1="${ry.toFixed(1)}" x2="${right.toFixed(1)}" y2="${ry.toFixed(1)}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="${DASH[r.dash] ?? ''}"/>`);
    }
  }

  for (const s of series) {
    const pts = s.points.filter(pt => finite(pt[0]) && finite(pt[1])).map(([px, py]) => [X(px), Y(py)]);
    if (pts.length === 0) continue;
    let line = pts;
    if (s.stepped) {
      line = [];
      for (const [i, pt] of pts.entries()) {
        if (i > 0) line.push([pt[0], pts[i - 1][1]]);
        line.push(pt);
      }
    }
    parts.push(
      `<g class="series" data-series="${esc(s.key ?? s.name)}">` +
        `<polyline fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round" stroke-dasharray="${DASH[s.dash] ?? ''}" points="${line.map(pt => pt.map(v => v.toFixed(1)).join(',')).join(' ')}"/>` +
        (s.marker && s.marker !== 'none' ? pts.map(([px, py]) => marker(s.marker, px, py, font * 0.3, s.color)).join('') : '') +
        '</g>',
    );
  }
  for (const l of labels) {
    const bx = l.anchor === 'end' ? l.x - l.w - 3 : l.x - 3;
    parts.push(
      `<g class="rule-label"><rect x="${bx.toFixed(1)}" y="${(l.y - small).toFixed(1)}" width="${(l.w + 6).toFixed(1)}" height="${(small * 1.35).toFixed(1)}" fill="#fff" fill-opacity="0.85"/>` +
        `<text x="${l.x.toFixed(1)}" y="${l.y.toFixed(1)}" text-anchor="${l.anchor}" font-size="${small.toFixed(1)}" font-weight="600" fill="${l.color}">${esc(l.text)}</text></g>`,
    );
  }
  const label = `${title}. ${series.map(s => s.name).join(', ')}.`;
  return (
    `<svg class="chart"${id ? ` id="${esc(id)}"` : ''} xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(label)}" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif">` +
    `<rect width="${W}" height="${H}" fill="#fff"/>${parts.join('')}</svg>`
  );
}

// What the result gives, read defensively: a field may be absent in older or partial results.
const levelsOf = result => (Array.isArray(result?.levels) ? result.levels : []);
const refusedOf = l => (finite(l.refused) ? l.refused : (l.status429 ?? 0) + (l.status503 ?? 0));
/** Requests per second of a count at this level: offered (sent/s) × the count's share of sent. */
function perSecond(l, count) {
  if (!finite(count)) return NaN;
  if (count === 0) return 0;
  if (finite(l.offered) && finite(l.sent) && l.sent > 0) return (l.offered * count) / l.sent;
  return NaN;
}
const kneeIndexOf = result => {
  const levels = levelsOf(result);
  if (Number.isInteger(result.kneeIndex) && levels[result.kneeIndex]) return result.kneeIndex;
  const i = levels.findIndex(l => l.concurrency === result.knee);
  return i >= 0 ? i : undefined;
};
const kneeLabel = result => {
  if (result.allRefused) return 'knee: none (all refused)';
  return result.kneeAtTop ? `knee ${result.knee}, top level tried` : `knee ${result.knee}`;
};

function throughputChart(result, size) {
  const levels = levelsOf(result);
  const series = [{key: 'goodput', name: 'goodput (ok/s)', color: C.blue, dash: 'solid', marker: 'circle', points: levels.map((l, i) => [i, l.throughput])}];
  if (levels.some(l => refusedOf(l) > 0)) {
    const has503 = levels.some(l => l.status503 > 0);
    const has429 = levels.some(l => l.status429 > 0);
    const which = has429 && has503 ? '429 + 503' : has503 ? '503' : '429';
    series.push({key: 'refused', name: `refused/s (${which})`, color: C.vermillion, dash: 'dashed', marker: 'triangle', points: levels.map((l, i) => [i, perSecond(l, refusedOf(l))])});
  }
  if (levels.some(l => l.errors > 0)) {
    series.push({key: 'errors', name: 'errors/s', color: C.purple, dash: 'dotted', marker: 'cross', points: levels.map((l, i) => [i, perSecond(l, l.errors)])});
  }
  const k = kneeIndexOf(result);
  const rules = k === undefined || result.allRefused ? [] : [{x: k, color: C.green, dash: 'dashdot', label: kneeLabel(result)}];
  return lineChart({
    ...size,
    id: size.idPrefix && `${size.idPrefix}-throughput`,
    title: 'Throughput against concurrency',
    yTitle: 'requests per second',
    xTitle: 'concurrency (levels evenly spaced)',
    categories: levels.map(l => l.concurrency),
    series,
    rules,
  });
}

function latencyChart(result, size) {
  const levels = levelsOf(result);
  const series = [
    {key: 'p99', name: 'p99 (ms)', color: C.vermillion, dash: 'solid', marker: 'diamond', points: levels.map((l, i) => [i, l.latency?.p99])},
    {key: 'p50', name: 'p50 (ms)', color: C.blue, dash: 'dashed', marker: 'square', points: levels.map((l, i) => [i, l.latency?.p50])},
  ];
  // With refusals, the answered requests' p99 mixes fast refusals in: show the successes' too.
  if (levels.some(l => refusedOf(l) > 0) && levels.some(l => finite(l.latencyOk?.p99))) {
    series.push({key: 'p99ok', name: 'p99 of successes (ms)', color: C.orange, dash: 'dotted', marker: 'circle', points: levels.map((l, i) => [i, l.latencyOk?.p99])});
  }
  const k = kneeIndexOf(result);
  const rules = k === undefined || result.allRefused ? [] : [{x: k, color: C.green, dash: 'dashdot', label: kneeLabel(result)}];
  return lineChart({
    ...size,
    id: size.idPrefix && `${size.idPrefix}-latency`,
    title: 'Latency against concurrency',
    yTitle: 'milliseconds, all answered requests',
    xTitle: 'concurrency (levels evenly spaced)',
    categories: levels.map(l => l.concurrency),
    series,
    rules,
  });
}

/** The adaptive pool's limit over time, or undefined when the result has no history to draw. */
function adaptiveChart(result, size) {
  const history = Array.isArray(result.adaptive?.limitHistory) ? result.adaptive.limitHistory.filter(h => Array.isArray(h) && finite(h[0]) && finite(h[1])) : [];
  if (history.length === 0) return undefined;
  const points = history.map(([ms, limit]) => [ms / 1000, limit]);
  const duration = result.params?.duration;
  const end = Math.max(points[points.length - 1][0], finite(duration) ? duration : 0);
  if (end > points[points.length - 1][0]) points.push([end, points[points.length - 1][1]]);
  const rules = [];
  if (finite(result.knee) && !result.allRefused) {
    rules.push({y: result.knee, color: C.green, dash: 'dashdot', legend: {key: 'knee', name: `knee of the fixed levels (${result.knee})`, color: C.green, dash: 'dashdot'}});
  }
  return lineChart({
    ...size,
    id: size.idPrefix && `${size.idPrefix}-adaptive`,
    title: 'Adaptive pool: its limit over time',
    yTitle: 'concurrency limit',
    xTitle: 'seconds since the adaptive run started',
    xMax: end,
    series: [{key: 'limit', name: 'adaptive limit', color: C.purple, dash: 'solid', marker: 'none', stepped: true, points}],
    rules,
  });
}

const WIDE = {W: 600, H: 370, font: 15};
const NARROW = {W: 380, H: 340, font: 14};

/** The charts as one standalone SVG: a heading, then each chart below the other. */
function svg(result) {
  const W = 720;
  const size = {W, H: 380, font: 14};
  const charts = [throughputChart(result, size), latencyChart(result, size), adaptiveChart(result, size)].filter(Boolean);
  const head = 58;
  const H = head + charts.length * size.H;
  const date = result.params?.date ? ` · ${when(result.params.date)}` : '';
  const body = charts.map((c, i) => c.replace('<svg class="chart"', `<svg class="chart" x="0" y="${head + i * size.H}" width="${W}" height="${size.H}"`).replace(' width="100%"', '')).join('\n');
  const url = String(result.url ?? '');
  const shown = url.length > 80 ? `${url.slice(0, 79)}…` : url;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="10" y="24" font-size="17" font-weight="700" fill="${C.ink}">async-shape sweep${esc(date)}</text>
<text x="10" y="46" font-size="13" fill="${C.grey}">${esc(shown)}</text>
${body}
</svg>
`;
}

// ---- the page ----

function paramsList(result) {
  const p = result.params ?? {};
  const rows = [];
  const add = (k, v) => rows.push([k, v]);
  if (typeof result.builtIn === 'boolean') add('target', result.builtIn ? 'the built-in downstream' : 'an external service');
  if (Array.isArray(p.levels)) add('levels', p.levels.join(', '));
  if (finite(p.duration)) add('per level', `${fmt(p.duration, p.duration % 1 ? 1 : 0)} s`);
  else if (finite(p.requests)) add('per level', `${fmt(p.requests)} requests`);
  if (p.method) add('method', p.method);
  if (p.maxRate !== undefined) add('max rate', finite(p.maxRate) ? `${fmt(p.maxRate)} req/s per level` : 'no cap');
  if (p.adaptive !== undefined) add('adaptive run', p.adaptive ? 'yes' : 'no');
  if (p.step !== undefined) add('step change', p.step ? 'capacity halved halfway through each level' : 'no');
  const d = p.downstream;
  if (d && typeof d === 'object') {
    const modes = {queue: 'queues beyond capacity', conn: 'refuses beyond a concurrency (503)', rate: 'refuses beyond a rate (429)'};
    add('downstream', `${d.mode ?? 'queue'}: ${modes[d.mode] ?? ''}`.replace(/: $/, ''));
    if (finite(d.capacity)) add('capacity', `${fmt(d.capacity)} req/s`);
    if (finite(d.latency)) add('service time', `${fmt(d.latency, d.latency % 1 ? 1 : 0)} ms`);
    if (finite(d.queue)) add('queue', fmt(d.queue));
    if (finite(d.limit)) add('limit', fmt(d.limit));
  }
  if (p.date) add('date', when(p.date));
  if (p.node) add('node', p.node);
  if (p.version) add('async-shape', p.version);
  if (rows.length === 0) return '<p class="params-none">Not recorded in this result.</p>';
  return `<dl class="params">${rows.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function loopText(loop) {
  if (loop === undefined || loop === null) return undefined;
  if (typeof loop === 'string') return loop;
  if (typeof loop === 'object') {
    return Object.entries(loop)
      .filter(([, v]) => v === null || typeof v !== 'object')
      .map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v, v % 1 ? 2 : 0) : v}`)
      .join(', ');
  }
  return String(loop);
}

function summaryBlock(result) {
  const parts = [];
  const k = kneeIndexOf(result);
  if (result.allRefused) {
    // Refused or failing: a service failing (500s, resets) at every level gets here too.
    parts.push(`<p class="alert"><strong>No level was served cleanly.</strong> At every concurrency tried, the service refused (429, 503) or failed too many requests; no level tried is below the knee.</p>`);
  }
  const kneeValue = result.allRefused ? 'none' : esc(result.knee ?? '–');
  parts.push(`<div class="knee"><span class="knee-label">knee</span><span class="knee-value${result.allRefused ? ' is-none' : ''}">${kneeValue}</span></div>`);
  if (result.kneeReason) parts.push(`<p class="reason">${esc(result.kneeReason)}</p>`);
  if (result.kneeAtTop && !result.allRefused) {
    parts.push(`<p class="alert">The knee is the highest level tried: it may lie above the tested range. Sweep higher levels to find it.</p>`);
  }
  if (result.recommendation) parts.push(`<p class="label">Recommended</p><pre class="rec"><code>${esc(result.recommendation)}</code></pre>`);
  const little = result.little;
  if (little && finite(little.concurrency)) {
    parts.push(
      `<p class="little">Little's law: ${fmt(little.throughput)} req/s × ${fmt(little.latency, 1)} ms unloaded latency = <strong>${fmt(little.concurrency, 1)}</strong> in flight.</p>`,
    );
  }
  const a = result.adaptive;
  if (a) {
    parts.push(
      `<p class="adaptive-summary">Adaptive pool: ended at limit <strong>${esc(a.finalLimit ?? '–')}</strong>; goodput ${pct(a.throughputVsBestFixed, 0)} of the best fixed level, ` +
        `p99 ${finite(a.p99VsKnee) ? `${fmt(a.p99VsKnee, 2)}×` : '–'} the knee's.</p>`,
    );
  }
  const notes = Array.isArray(result.notes) ? result.notes : [];
  if (notes.length > 0) parts.push(`<p class="label">Notes</p><ul class="notes">${notes.map(n => `<li>${esc(n)}</li>`).join('')}</ul>`);
  const loop = loopText(result.loop);
  if (loop) parts.push(`<p class="loop">Client ${esc(loop)}</p>`);
  return parts.join('\n');
}

/** The adaptive run beside its chart: where its limit went and how it compares with the fixed levels. */
function adaptiveCard(result) {
  const a = result.adaptive;
  if (!a || typeof a !== 'object') return '';
  const stat = (label, value, sub) => `<div class="stat"><span class="stat-label">${esc(label)}</span><span class="stat-value">${esc(value)}</span>${sub ? `<span class="stat-sub">${esc(sub)}</span>` : ''}</div>`;
  const stats = [
    stat('final limit', a.finalLimit ?? '–', finite(result.knee) && !result.allRefused ? `knee of the fixed levels: ${result.knee}` : ''),
    stat('goodput', `${fmt(a.throughput)} ok/s`, finite(a.throughputVsBestFixed) ? `${pct(a.throughputVsBestFixed, 0)} of the best fixed level` : ''),
    stat('p99', `${fmt(a.latency?.p99, 1)} ms`, finite(a.p99VsKnee) ? `${fmt(a.p99VsKnee, 2)}× the knee's` : ''),
    stat('refused', finite(a.refusedRate) ? pct(a.refusedRate) : fmt(refusedOf(a)), ''),
  ];
  const history = Array.isArray(a.limitHistory) ? a.limitHistory.filter(h => Array.isArray(h) && finite(h[0]) && finite(h[1])) : [];
  const lines = [];
  if (history.length > 0) {
    const path = history.map(h => h[1]).filter((v, i, all) => i === 0 || v !== all[i - 1]);
    const shown = path.length > 16 ? [...path.slice(0, 15), '…', path[path.length - 1]] : path;
    lines.push(`<p class="trajectory"><span class="label">limit</span> ${esc(shown.join(' → '))}</p>`);
    const peak = Math.max(...path);
    if (finite(result.knee) && result.knee > 0 && !result.allRefused) {
      const reached = history.find(h => h[1] >= result.knee);
      if (reached) lines.push(`<p>Reached the knee (${esc(result.knee)}) after ${fmt(reached[0] / 1000, 2)} s; peak ${esc(peak)} (${fmt(peak / result.knee, 2)}× the knee).</p>`);
      else lines.push(`<p>Never reached the knee (${esc(result.knee)}); peak ${esc(peak)}.</p>`);
    }
  }
  return `<section class="card adaptive-card"><h2>Adaptive run</h2><div class="stats">${stats.join('')}</div>${lines.join('')}</section>`;
}

const COLUMNS = [
  ['concurrency', null],
  ['goodput ok/s', l => fmt(l.throughput)],
  ['offered sent/s', l => fmt(l.offered)],
  ['refused', l => (finite(l.refusedRate) ? pct(l.refusedRate) : fmt(refusedOf(l)))],
  ['429', l => fmt(l.status429)],
  ['503', l => fmt(l.status503)],
  ['errors', l => fmt(l.errors)],
  ['p50 ms', l => fmt(l.latency?.p50, 1)],
  ['p99 ms', l => fmt(l.latency?.p99, 1)],
  ['p99 ok ms', l => fmt(l.latencyOk?.p99, 1)],
  ['in flight', l => fmt(l.inflight, 1)],
  ['Retry-After waits', l => fmt(l.retryAfterWaits)],
  ['backoffs', l => fmt(l.backoffs)],
  ['loop p99 ms', l => fmt(l.loopP99, 1)],
  ['loop max ms', l => fmt(l.loopMax, 1)],
];

function levelsTable(result) {
  const levels = levelsOf(result);
  const k = kneeIndexOf(result);
  const rows = levels.map((l, i) => ({l, name: String(l.concurrency), knee: i === k && !result.allRefused}));
  if (result.adaptive) rows.push({l: result.adaptive, name: `adaptive → ${result.adaptive.finalLimit ?? '?'}`, adaptive: true});
  const head = COLUMNS.map(([h]) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows
    .map(({l, name, knee, adaptive}) => {
      const cls = [knee ? 'is-knee' : '', adaptive ? 'is-adaptive' : ''].filter(Boolean).join(' ');
      const first = `<th scope="row">${adaptive ? '' : '<span class="c-prefix">concurrency </span>'}${esc(name)}${knee ? ' <span class="knee-mark">◀ knee</span>' : ''}</th>`;
      const cells = COLUMNS.slice(1)
        .map(([h, f]) => `<td data-label="${esc(h)}">${esc(f(l))}</td>`)
        .join('');
      return `<tr${cls ? ` class="${cls}"` : ''}>${first}${cells}</tr>`;
    })
    .join('\n');
  return `<table class="levels"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f4f5f7;color:#1d1d1f;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
header h1{margin:0;font-size:1.6rem;line-height:1.25}
header .url{margin:.35rem 0 0;font:600 1rem/1.4 ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere;word-break:break-word}
header .meta{margin:.2rem 0 0;color:#555}
.card{background:#fff;border:1px solid #dfe1e5;border-radius:10px;padding:16px 20px;min-width:0}
.card h2{margin:0 0 .6rem;font-size:1.05rem}
.top{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px;margin:18px 0 16px}
.knee{display:flex;align-items:baseline;gap:.6rem}
.knee-label{text-transform:uppercase;letter-spacing:.06em;font-size:.8rem;color:#555}
.knee-value{font-size:2.2rem;font-weight:700;color:#007a5a;line-height:1.1}
.knee-value.is-none{color:#a34a00}
.summary p,.summary ul{margin:.45rem 0;overflow-wrap:anywhere}
.summary .label{margin:.8rem 0 .2rem;font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:#555}
.rec{margin:0;padding:.6rem .8rem;background:#f1f6f4;border-left:4px solid #009E73;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;font:600 .95rem/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.notes{padding-left:1.2rem}
.alert{padding:.5rem .75rem;background:#fff4e5;border-left:4px solid #E69F00;border-radius:4px}
.loop{color:#555;font-size:.9rem}
.params{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px 16px;margin:0}
.params div{min-width:0}
.params dt{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:#666}
.params dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:16px;margin-bottom:16px}
.charts figure{margin:0;padding:8px}
.charts svg{display:block;width:100%;height:auto}
.chart-narrow{display:none!important}
.levels-card{overflow:hidden}
table.levels{width:100%;border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
.levels th,.levels td{padding:.4rem .45rem;text-align:right;border-bottom:1px solid #eceef1}
.levels thead th{font-size:.72rem;font-weight:600;color:#555;vertical-align:bottom;text-transform:uppercase;letter-spacing:.03em}
.levels tbody th{text-align:left;white-space:nowrap}
.levels tr.is-knee{background:#e8f5ef}
.levels tr.is-adaptive{background:#f8eef4}
.stats{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px 18px;margin:.2rem 0 .8rem}
.stat{display:flex;flex-direction:column;min-width:0}
.stat-label{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:#666}
.stat-value{font-size:1.5rem;font-weight:700;line-height:1.2;overflow-wrap:anywhere}
.stat-sub{font-size:.85rem;color:#555}
.adaptive-card p{margin:.4rem 0;overflow-wrap:anywhere}
.adaptive-card .label{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;color:#666;margin-right:.3rem}
.trajectory{font-variant-numeric:tabular-nums}
.c-prefix{display:none}
.knee-mark{color:#007a5a;font-weight:700;font-size:.8rem}
footer{color:#666;font-size:.8rem;margin:12px 0 0}
@media (max-width:900px){.top{grid-template-columns:minmax(0,1fr)}}
@media (max-width:600px){
main{padding:12px}
header h1{font-size:1.3rem}
.card{padding:12px 14px}
.chart-wide{display:none!important}
.chart-narrow{display:block!important}
.charts figure{padding:4px}
.levels thead{display:none}
.levels,.levels tbody,.levels tr{display:block;width:100%}
.levels tr{border:1px solid #e3e5e8;border-radius:8px;margin:0 0 10px;padding:6px 10px;display:grid;grid-template-columns:1fr 1fr;column-gap:12px}
.levels tbody th{grid-column:1/-1;display:block;border:0;padding:.2rem 0 .3rem;font-size:1rem}
.levels td{display:flex;justify-content:space-between;gap:8px;border:0;padding:.15rem 0;min-width:0}
.c-prefix{display:inline;font-weight:400;color:#666}
.levels td::before{content:attr(data-label);color:#666;text-align:left}
}
`;

function html(result) {
  const levels = levelsOf(result);
  const date = result.params?.date;
  const charts = [
    ['throughput', throughputChart],
    ['latency', latencyChart],
    ['adaptive', adaptiveChart],
  ]
    .map(([name, make]) => {
      const wide = make(result, {...WIDE, idPrefix: 'wide'});
      if (!wide) return '';
      const narrow = make(result, {...NARROW, idPrefix: 'narrow'});
      return `<figure class="card chart-${name}">${wide.replace('class="chart"', 'class="chart chart-wide"')}${narrow.replace('class="chart"', 'class="chart chart-narrow"')}</figure>`;
    })
    .filter(Boolean)
    .join('\n');
  const adaptive = adaptiveCard(result);
  const target = typeof result.builtIn === 'boolean' ? (result.builtIn ? 'built-in downstream' : 'external service') : undefined;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>async-shape sweep: ${esc(result.url ?? '')}</title>
<style>${CSS}</style></head>
<body><main>
<header>
<h1>async-shape sweep</h1>
<p class="url">${esc(result.url ?? '')}</p>
<p class="meta">${date ? `${esc(when(date))} · ` : ''}${target ? `${esc(target)} · ` : ''}${levels.length} level${levels.length === 1 ? '' : 's'}${result.adaptive ? ' + an adaptive run' : ''}</p>
</header>
<div class="top">
<section class="card summary"><h2>Summary</h2>
${summaryBlock(result)}
</section>
<section class="card"><h2>Parameters</h2>
${paramsList(result)}
</section>
</div>
<section class="charts">
${charts}
${adaptive}
</section>
<section class="card levels-card"><h2>Levels</h2>
${levelsTable(result)}
</section>
<footer>Goodput counts successful answers only; refused = 429 + 503. Latencies cover all answered requests unless marked "ok". Levels are spaced evenly on the x axis, not to scale.</footer>
</main></body></html>
`;
}

module.exports = {svg, html, niceTicks};
