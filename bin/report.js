'use strict';
// Renders a sweep: a terminal table with the knee marked, an SVG chart of throughput and p99
// against concurrency, and an HTML page with both.

const num = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

const pct = x => (Number.isFinite(x) ? `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%` : '–');

/** The levels as a table: goodput, offered rate, refusals and failures, latencies; the knee marked. */
function table(result) {
  const head = ['concurrency', 'ok/s', 'sent/s', 'refused', 'failed', 'p50 ms', 'p99 ms', 'in flight', 'loop p99 ms', 'loop max ms', ''];
  const levels = result.adaptive ? [...result.levels, result.adaptive] : result.levels;
  const rows = levels.map(l => [
    l.concurrency === 'adaptive' ? `adaptive→${l.finalLimit}` : String(l.concurrency),
    num(l.throughput),
    num(l.offered),
    pct(l.refusedRate),
    pct(l.errorRate),
    num(l.latency.p50, 1),
    num(l.latency.p99, 1),
    num(l.inflight, 1),
    num(l.loopP99, 1),
    num(l.loopMax, 1),
    l.concurrency === result.knee ? '◀ knee' : '',
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map(r => r[c].length)));
  const line = r => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(head), widths.slice(0, -1).map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The knee and why, Little's law, the recommendation, the notes, the adaptive run. */
function summary(result) {
  const {little, knee, adaptive} = result;
  const lines = [];
  if (knee === null || knee === undefined) lines.push(`Knee: none: ${result.kneeReason ?? 'no level was served cleanly'}.`);
  else lines.push(`Knee: concurrency ${knee}, the largest served cleanly before p99 rises without goodput rising (${result.kneeReason ?? ''}).`.replace(' ()', ''));
  lines.push(
    `Little's law: ${num(little.throughput)} ok/s × ${num(little.latency, 1)} ms unloaded latency = ${num(little.concurrency, 1)} in flight.`,
    `Recommended: ${result.recommendation}`,
  );
  for (const note of result.notes ?? []) lines.push(`Note: ${note}.`);
  if (result.loop) lines.push(`Client ${result.loop}`);
  if (adaptive) {
    const vsKnee = adaptive.p99VsKnee === null || adaptive.p99VsKnee === undefined ? '' : `, p99 ${num(adaptive.p99VsKnee, 2)}× the knee's`;
    lines.push(
      `Adaptive (Vegas): ended at limit ${adaptive.finalLimit}; goodput ${num(adaptive.throughputVsBestFixed * 100)}% of the best fixed level${vsKnee}.`,
    );
    if (adaptive.trajectory) lines.push(`Adaptive ${adaptive.trajectory}.`);
  }
  return lines.join('\n');
}

const escapeXml = s => String(s).replace(/[<>&"]/g, c => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;'})[c]);

/** Throughput (left axis) and p99 (right axis) against concurrency (log scale), knee marked. */
function svg(result) {
  const W = 720;
  const H = 360;
  const pad = {left: 64, right: 64, top: 40, bottom: 48};
  const levels = result.levels;
  const xs = levels.map(l => Math.log2(l.concurrency));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const maxT = Math.max(...levels.map(l => l.throughput), 1) * 1.1;
  const maxL = Math.max(...levels.map(l => l.latency.p99), 1) * 1.1;
  const X = v => pad.left + ((v - x0) / (x1 - x0)) * (W - pad.left - pad.right);
  const Yt = v => H - pad.bottom - (v / maxT) * (H - pad.top - pad.bottom);
  const Yl = v => H - pad.bottom - (v / maxL) * (H - pad.top - pad.bottom);
  const path = (Y, key) => levels.map((l, i) => `${X(xs[i]).toFixed(1)},${Y(key(l)).toFixed(1)}`).join(' ');
  const knee = levels.find(l => l.concurrency === result.knee);
  const ticks = levels
    .map((l, i) => `<text x="${X(xs[i]).toFixed(1)}" y="${H - pad.bottom + 18}" text-anchor="middle">${l.concurrency}</text>`)
    .join('');
  const yTicks = [0, 0.5, 1]
    .map(
      f =>
        `<text x="${pad.left - 8}" y="${Yt(maxT * f).toFixed(1)}" text-anchor="end" fill="#1f77b4">${num(maxT * f)}</text>` +
        `<text x="${W - pad.right + 8}" y="${Yl(maxL * f).toFixed(1)}" fill="#d62728">${num(maxL * f)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(result.url)}: throughput and p99 against concurrency</text>
<line x1="${pad.left}" y1="${H - pad.bottom}" x2="${W - pad.right}" y2="${H - pad.bottom}" stroke="#888"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${H - pad.bottom}" stroke="#1f77b4"/>
<line x1="${W - pad.right}" y1="${pad.top}" x2="${W - pad.right}" y2="${H - pad.bottom}" stroke="#d62728"/>
${ticks}${yTicks}
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">concurrency</text>
<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle" fill="#1f77b4">req/s</text>
<text x="${W - 16}" y="${H / 2}" transform="rotate(90 ${W - 16} ${H / 2})" text-anchor="middle" fill="#d62728">p99 ms</text>
${knee ? `<line x1="${X(Math.log2(knee.concurrency)).toFixed(1)}" y1="${pad.top}" x2="${X(Math.log2(knee.concurrency)).toFixed(1)}" y2="${H - pad.bottom}" stroke="#2ca02c" stroke-dasharray="4 4"/><text x="${(X(Math.log2(knee.concurrency)) + 4).toFixed(1)}" y="${pad.top + 12}" fill="#2ca02c">knee: ${knee.concurrency}</text>` : ''}
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${path(Yt, l => l.throughput)}"/>
<polyline fill="none" stroke="#d62728" stroke-width="2" points="${path(Yl, l => l.latency.p99)}"/>
${levels.map((l, i) => `<circle cx="${X(xs[i]).toFixed(1)}" cy="${Yt(l.throughput).toFixed(1)}" r="3" fill="#1f77b4"/><circle cx="${X(xs[i]).toFixed(1)}" cy="${Yl(l.latency.p99).toFixed(1)}" r="3" fill="#d62728"/>`).join('')}
</svg>
`;
}

function html(result) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>async-shape sweep</title>
<style>body{font-family:sans-serif;margin:2em;max-width:760px}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body>
<h1>async-shape sweep</h1>
${svg(result)}
<pre>${escapeXml(table(result))}</pre>
<pre>${escapeXml(summary(result))}</pre>
</body></html>
`;
}

module.exports = {table, summary, svg, html};
