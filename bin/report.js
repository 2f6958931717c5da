'use strict';
// Renders a sweep: a terminal table with the knee marked and a summary; the SVG chart and the HTML
// page come from bin/page.js.

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

// The chart and the page are bin/page.js's (legend, round ticks, refusals, the adaptive run).
const {svg, html} = require('./page');

module.exports = {table, summary, svg, html};
