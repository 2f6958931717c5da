'use strict';
// The sweep's HTML report (bin/page.js), checked in a real browser: Debian's headless Chromium
// through playwright-core, at 1200 × 800 and 390 × 844 (a phone). Each fixture is a sweep result
// of the shape bin/sweep.js produces: a queueing downstream with an adaptive run, a rate-limited
// service (429s), and a run where every level was refused (503s and 429s) with a hostile URL.
// Chromium missing is a failure, not a skip: .ci/run installs it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {pathToFileURL} = require('node:url');
const {svg, html, niceTicks} = require('../bin/page');

const CHROMIUM = '/usr/bin/chromium';
const readFixture = name => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8'));
/** The queueing run again, as if its knee were the highest level tried (its label sits at the right edge). */
function kneeAtTop() {
  const r = readFixture('sweep-queue-adaptive');
  return {...r, knee: 80, kneeIndex: 5, kneeAtTop: true, recommendation: 'const limit = pLimit(80);'};
}
/** The rate-limited run stretched to 24 levels up to 4096: more x labels than a phone has room for. */
function manyLevels() {
  const r = readFixture('sweep-rate-limited');
  const concurrencies = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 3000, 4096];
  const levels = concurrencies.map((concurrency, i) => ({...r.levels[Math.min(i >> 2, r.levels.length - 1)], concurrency}));
  return {...r, params: {...r.params, levels: concurrencies}, levels, knee: 10, kneeIndex: 7};
}
const VARIANTS = {'knee-at-top': kneeAtTop, 'many-levels': manyLevels};
const fixture = name => (VARIANTS[name] ? VARIANTS[name]() : readFixture(name));
const FIXTURES = ['sweep-queue-adaptive', 'sweep-rate-limited', 'sweep-all-refused', 'knee-at-top', 'many-levels'];
const VIEWPORTS = [
  {name: 'desktop', width: 1200, height: 800, variant: 'wide'},
  {name: 'phone', width: 390, height: 844, variant: 'narrow'},
];

/** True when `step` is 1, 2 or 5 × 10^k. */
function isNiceStep(step) {
  if (!(step > 0)) return false;
  const m = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5, 10].some(n => Math.abs(m - n) < 1e-6);
}

test('niceTicks: round 1-2-5 steps from 0 to at least the maximum, at most 5 intervals', () => {
  assert.deepEqual(niceTicks(429).ticks, [0, 100, 200, 300, 400, 500]);
  assert.equal(niceTicks(429).step, 100);
  assert.deepEqual(niceTicks(1000).ticks, [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(985).ticks, [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(niceTicks(90).ticks, [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(7).ticks, [0, 2, 4, 6, 8]);
  assert.deepEqual(niceTicks(1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.37).ticks, [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(niceTicks(2.05).ticks, [0, 0.5, 1, 1.5, 2, 2.5]);
  assert.deepEqual(niceTicks(25).ticks, [0, 5, 10, 15, 20, 25]);
  // Nothing to scale: a unit axis, never NaN or an empty one.
  for (const max of [0, -3, NaN, Infinity, undefined]) assert.deepEqual(niceTicks(max).ticks, [0, 1], String(max));
  // Any maximum: the property, over a spread of magnitudes.
  for (let i = 0; i < 2000; i++) {
    const max = 10 ** (Math.random() * 12 - 4) * (1 + Math.random());
    const {ticks, step} = niceTicks(max);
    assert.ok(isNiceStep(step), `max ${max}: step ${step}`);
    assert.equal(ticks[0], 0);
    assert.ok(ticks.length >= 2 && ticks.length <= 6, `max ${max}: ${ticks.length} ticks`);
    assert.ok(ticks.at(-1) >= max * (1 - 1e-9), `max ${max}: top tick ${ticks.at(-1)}`);
    assert.ok(ticks.at(-2) < max, `max ${max}: one tick too many (${ticks})`);
  }
});

test('html and svg escape every string from the result (a hostile URL, notes, recommendation)', () => {
  const result = fixture('sweep-all-refused');
  for (const out of [html(result), svg(result)]) {
    assert.doesNotMatch(out, /<script|<img|<b>|onerror="/i);
    assert.match(out, /&lt;script&gt;/);
  }
  // No markup can reach a network or run: a CSP that allows inline styles only, no <script> of ours.
  const page = html(result);
  assert.match(page, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/);
  assert.doesNotMatch(page, /https?:\/\/(?!127\.0\.0\.1|staging\.example|evil\.example|www\.w3\.org\/2000\/svg")/, 'no external URL');
});

test('svg: one standalone document with every chart; html marks the knee in the table', () => {
  const result = fixture('sweep-queue-adaptive');
  const out = svg(result);
  assert.match(out, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* viewBox="0 0 720 \d+"/);
  assert.equal((out.match(/<svg class="chart"/g) ?? []).length, 3, 'throughput, latency and the adaptive limit');
  assert.match(out, /polyline/);
  assert.equal((svg(fixture('sweep-rate-limited')).match(/<svg class="chart"/g) ?? []).length, 2, 'no adaptive run, no third chart');
  assert.match(html(result), /<th scope="row">[^<]*(?:<span[^>]*>[^<]*<\/span>)?20 <span class="knee-mark">◀ knee<\/span>/);
});

test('a knee at the highest level tried says that the knee may lie above the range', () => {
  const page = html(fixture('knee-at-top'));
  assert.match(page, /may lie above the tested range/);
  assert.match(page, />knee 80, top level tried</);
  assert.doesNotMatch(html(fixture('sweep-queue-adaptive')), /may lie above/);
});

test('absent fields render as a dash, never "undefined" or "NaN"', () => {
  const bare = {url: 'http://x/', levels: [{concurrency: 1, throughput: 10, latency: {p50: 1, p99: 2}}], knee: 1};
  for (const out of [html(bare), svg(bare)]) assert.doesNotMatch(out, /undefined|NaN|\[object/);
  for (const name of FIXTURES) assert.doesNotMatch(html(fixture(name)), /undefined|NaN|\[object/, name);
});

// ---- in the browser ----

let browserPromise;
function browser() {
  browserPromise ??= (async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does) to check the report page`);
    }
    const {chromium} = require('playwright-core');
    return chromium.launch({
      executablePath: CHROMIUM,
      timeout: 60_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  })();
  return browserPromise;
}
test.after(async () => {
  const b = await browserPromise?.catch(() => undefined);
  await b?.close();
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-report-'));
test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Everything the checks below need, measured in the page. */
function measure(variant) {
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const charts = [...document.querySelectorAll('svg.chart')].filter(visible);
  const overflowing = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!(el instanceof HTMLElement) || !visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) overflowing.push(`${el.tagName}.${el.className} scrollWidth ${el.scrollWidth} > ${el.clientWidth}`);
    if (r.right > document.documentElement.clientWidth + 0.5 || r.left < -0.5) overflowing.push(`${el.tagName}.${el.className} spans ${r.left}..${r.right}`);
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    title: document.title,
    url: document.querySelector('header .url')?.textContent,
    injected: document.querySelectorAll('script, img, iframe, object, embed, b').length,
    overflowing,
    charts: charts.map(svg => {
      const vb = svg.viewBox.baseVal;
      const scale = svg.getBoundingClientRect().width / vb.width;
      const texts = [...svg.querySelectorAll('text')].map(t => {
        const b = t.getBBox();
        return {text: t.textContent, cls: t.getAttribute('class') ?? '', x: b.x, y: b.y, w: b.width, h: b.height, px: Number(t.getAttribute('font-size')) * scale};
      });
      return {
        id: svg.id,
        isVariant: svg.classList.contains(`chart-${variant}`),
        width: vb.width,
        height: vb.height,
        legend: [...svg.querySelectorAll('.legend .legend-item')].map(g => ({key: g.dataset.series, text: g.textContent})),
        series: [...svg.querySelectorAll('.series')].map(g => g.dataset.series),
        texts,
      };
    }),
  };
}

for (const name of FIXTURES) {
  for (const vp of VIEWPORTS) {
    test(`report page in Chromium: ${name} at ${vp.width} px`, {timeout: 120_000}, async () => {
      const result = fixture(name);
      const file = path.join(dir, `${name}-${vp.name}.html`);
      fs.writeFileSync(file, html(result));
      const b = await browser();
      const context = await b.newContext({viewport: {width: vp.width, height: vp.height}, javaScriptEnabled: true});
      try {
        const page = await context.newPage();
        const problems = [];
        page.on('console', msg => {
          if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
        });
        page.on('pageerror', err => problems.push(`page error: ${err.message}`));
        const requests = [];
        await page.route('**/*', route => {
          requests.push(route.request().url());
          return route.request().url() === pathToFileURL(file).href ? route.continue() : route.abort();
        });
        await page.goto(pathToFileURL(file).href, {timeout: 30_000});
        const m = await page.evaluate(measure, vp.variant);

        assert.deepEqual(problems, [], 'no console errors');
        assert.deepEqual(requests, [pathToFileURL(file).href], 'the page loads nothing but itself');
        assert.ok(m.scrollWidth <= m.clientWidth, `no horizontal overflow: scrollWidth ${m.scrollWidth} > ${m.clientWidth}`);
        assert.deepEqual(m.overflowing, [], 'no element overflows its box');

        // The right charts, in the variant for this width.
        const kinds = m.charts.map(c => c.id.replace(/^(wide|narrow)-/, ''));
        assert.deepEqual(kinds, result.adaptive ? ['throughput', 'latency', 'adaptive'] : ['throughput', 'latency']);
        for (const c of m.charts) assert.ok(c.isVariant, `${c.id} is the ${vp.variant} variant`);

        for (const c of m.charts) {
          // Legends name every series drawn.
          assert.ok(c.legend.length >= 1, `${c.id} has a legend`);
          for (const s of c.series) assert.ok(c.legend.some(l => l.key === s), `${c.id}: series ${s} is in the legend`);
          // Round ticks: 0, then equal 1-2-5 × 10^k steps.
          for (const cls of ['tick-y', 'tick-x-num']) {
            const values = c.texts.filter(t => t.cls.split(' ').includes(cls)).map(t => Number(t.text.replace(/,/g, '')));
            if (cls === 'tick-x-num' && values.length === 0) continue;
            assert.ok(values.length >= 2, `${c.id}: ${cls} ticks`);
            assert.equal(values[0], 0, `${c.id}: ${cls} starts at 0`);
            const step = values[1] - values[0];
            assert.ok(isNiceStep(step), `${c.id}: ${cls} step ${step} (${values.join(', ')})`);
            values.forEach((v, i) => assert.ok(Math.abs(v - i * step) < step * 1e-6, `${c.id}: ${cls} tick ${v} in ${values.join(', ')}`));
          }
          // Every label inside the chart, none on top of another, none too small to read.
          for (const t of c.texts) {
            assert.ok(t.x >= -0.5 && t.y >= -0.5 && t.x + t.w <= c.width + 0.5 && t.y + t.h <= c.height + 0.5, `${c.id}: "${t.text}" is outside the chart`);
            assert.ok(t.px >= 10.5, `${c.id}: "${t.text}" renders at ${t.px.toFixed(1)} px`);
          }
          for (const [i, a] of c.texts.entries()) {
            for (const b2 of c.texts.slice(i + 1)) {
              const overlap = a.x < b2.x + b2.w - 0.5 && b2.x < a.x + a.w - 0.5 && a.y < b2.y + b2.h - 0.5 && b2.y < a.y + a.h - 0.5;
              assert.ok(!overlap, `${c.id}: "${a.text}" overlaps "${b2.text}"`);
            }
          }
        }

        const [throughput, latency, adaptive] = m.charts;
        assert.ok(throughput.legend.some(l => l.key === 'goodput' && /goodput/.test(l.text)));
        assert.ok(latency.legend.some(l => l.key === 'p50' && /p50/.test(l.text)) && latency.legend.some(l => l.key === 'p99' && /p99/.test(l.text)));
        const refused = result.levels.some(l => l.refused > 0);
        assert.equal(throughput.series.includes('refused'), refused, 'refused/s is drawn exactly when there are refusals');
        if (result.levels.some(l => l.status429 > 0)) assert.ok(throughput.legend.some(l => /429/.test(l.text)), 'the legend names the 429s');
        if (result.adaptive) {
          assert.deepEqual(adaptive.series, ['limit']);
          assert.ok(adaptive.legend.some(l => /adaptive limit/.test(l.text)));
        }
        // The knee is marked on both charts, or nowhere when every level was refused.
        const kneeLabels = m.charts.slice(0, 2).map(c => c.texts.some(t => /^knee \d+/.test(t.text)));
        assert.deepEqual(kneeLabels, result.allRefused ? [false, false] : [true, true]);

        // Hostile strings stay text.
        assert.equal(m.url, result.url);
        assert.equal(m.injected, 0, 'no element injected by the result');
        assert.equal(m.title, `async-shape sweep: ${result.url}`, 'no script ran to change the title');
      } finally {
        await context.close();
      }
    });
  }
}
