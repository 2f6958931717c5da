#!/usr/bin/env node
'use strict';
// Regenerates docs/report.png, the README's screenshot of the sweep's HTML report: renders a
// sweep result (default: __test__/fixtures/sweep-queue-adaptive.json) with bin/page.js and takes
// a full-page screenshot at 1200 px wide in Debian's headless Chromium, through playwright-core.
//   node scripts/report-screenshot.js [result.json] [out.png] [--width 1200]
// The same page checks run in __test__/report.test.js; this script only takes the picture.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {pathToFileURL} = require('node:url');
const {chromium} = require('playwright-core');
const page = require('../bin/page');

const root = path.join(__dirname, '..');
const {values, positionals} = require('node:util').parseArgs({allowPositionals: true, options: {width: {type: 'string', default: '1200'}}});
const input = positionals[0] ?? path.join(root, '__test__', 'fixtures', 'sweep-queue-adaptive.json');
const out = positionals[1] ?? path.join(root, 'docs', 'report.png');
const width = Number(values.width);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function main() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'async-shape-shot-'));
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, page.html(JSON.parse(fs.readFileSync(input, 'utf8'))));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage({viewport: {width, height: 800}, deviceScaleFactor: 1});
    await tab.goto(pathToFileURL(file).href);
    fs.mkdirSync(path.dirname(out), {recursive: true});
    await tab.screenshot({path: out, fullPage: true});
  } finally {
    await browser.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch(err => {
  console.error(err.message);
  process.exitCode = 1;
});
