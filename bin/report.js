'use strict';
// Renders a sweep: a terminal table with the knee marked and a summary; the SVG chart and the HTML
// page come from bin/page.js.

const num = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

function table(result) {
  const head = ['concurrency', 'req/s', 'p50 ms', 'p99 ms', 'errors', '429', 'loop p99 ms', 'loop max ms', ''];
  const levels = result.adaptive ? [...result.levels, result.adaptive] : result.levels;
  const rows = levels.map(l => [
    l.concurrency === 'adaptive' ? `adaptive→${l.finalLimit}` : String(l.concurrency),
    num(l.throughput),
    num(l.latency.p50, 1),
    num(l.latency.p99, 1),
    String(l.errors),
    String(l.refused),
    num(l.loopP99, 1),
    num(l.loopMax, 1),
    l.concurrency === result.knee ? '◀ knee' : '',
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map(r => r[c].length)));
  const line = r => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(head), widths.slice(0, -1).map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function summary(result) {
  const {little, knee, adaptive} = result;
  const lines = [
    `Knee: concurrency ${knee}, the largest before p99 rises without throughput rising.`,
    `Little's law: ${num(little.throughput)} req/s × ${num(little.latency, 1)} ms unloaded latency = ${num(little.concurrency, 1)} in flight.`,
    `Recommended: ${result.recommendation}`,
  ];
  if (result.loop) lines.push(`Client ${result.loop}`);
  if (adaptive) {
    lines.push(
      `Adaptive (Vegas): ended at limit ${adaptive.finalLimit}; throughput ${num(adaptive.throughputVsBestFixed * 100)}% of the best fixed level, ` +
        `p99 ${num(adaptive.p99VsKnee, 2)}× the knee's.`,
    );
  }
  return lines.join('\n');
}

// The chart and the page are bin/page.js's (legend, round ticks, refusals, the adaptive run).
const {svg, html} = require('./page');

module.exports = {table, summary, svg, html};
