// Renders APL views in headless Chromium with Amazon's web renderer, one browser and one page
// for all of them. Input (stdin, JSON): {chromium, jobs: [{name, document, datasources,
// viewport, screenshot?, tap?}]}. Output (stdout, JSON): per job, the page's measurements
// (page/page.js) plus every console message, page error and request that left 127.0.0.1.
// render.py writes the input and judges the output; this file only drives the browser.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULES = path.join(HERE, 'node_modules');
const RENDERER = path.join(MODULES, 'apl-viewhost-web');
// apl-viewhost-web 1.4.0 is the only release whose npm package carries the built renderer;
// its fonts come from 1.6.3's package (later releases download both at install time).
const FONTS = path.join(MODULES, 'apl-viewhost-web-fonts', 'fonts');
// The renderer's stylesheet loads the device fonts from Amazon's CDN. The same faces are
// served from the npm package instead; the CDN is never reached (the network is closed, and
// a render must not depend on it). Amazon Ember Display is not in any package: its text cut,
// Amazon Ember, stands in (slightly wider, so a fit here is a fit on the device).
const FONT_HOST = 'd1gkjrhppbyzyh.cloudfront.net';
const FONT_FILES = {
  'AmazonEmberDisplay_Lt.ttf': 'Amazon-Ember-Light.ttf',
  'AmazonEmberDisplay_Rg.ttf': 'Amazon-Ember-Regular.ttf',
  'AmazonEmberDisplay_Md.ttf': 'Amazon-Ember-Medium.ttf',
  'AmazonEmberDisplay_Bd.ttf': 'Amazon-Ember-Bold.ttf',
  'AmazonEmberDisplay_He.ttf': 'Amazon-Ember-Bold.ttf',
  'Amazon-Ember-LightItalic.ttf': 'Amazon-Ember-LightItalic.ttf',
  'Amazon-Ember-RegularItalic.ttf': 'Amazon-Ember-RegularItalic.ttf',
  'Amazon-Ember-MediumItalic.ttf': 'Amazon-Ember-MediumItalic.ttf',
  'Amazon-Ember-BoldItalic.ttf': 'Amazon-Ember-BoldItalic.ttf',
};
const PAGE_FILES = {
  '/': [path.join(HERE, 'page', 'index.html'), 'text/html; charset=utf-8'],
  '/page.js': [path.join(HERE, 'page', 'page.js'), 'text/javascript; charset=utf-8'],
  '/renderer/index.js': [path.join(RENDERER, 'index.js'), 'text/javascript; charset=utf-8'],
};
// The flags a closed network needs: no background connections, no component updates, no sync.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const RENDER_TIMEOUT_MS = 15000;

function serve() {
  const server = http.createServer((request, response) => {
    const file = PAGE_FILES[new URL(request.url, 'http://localhost').pathname];
    if (!file || request.method !== 'GET') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {'content-type': file[1], 'cache-control': 'no-store'});
    fs.createReadStream(file[0]).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: nothing outside this machine can reach the page.
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${RENDER_TIMEOUT_MS} ms`)),
      RENDER_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const input = JSON.parse(await readStdin());
  const started = Date.now();
  const server = await serve();
  const origin = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = fs.mkdtempSync(path.join(input.tmpdir || '/tmp', 'screens-chromium-'));
  // A fresh profile each run: nothing cached or remembered from an earlier run.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: input.chromium,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: {width: 1920, height: 1080},
    deviceScaleFactor: 1,
    hasTouch: true, // Echo Shows are touchscreens: taps are touch events, as on the device
  });
  const output = {browser: context.browser()?.version() ?? null, results: []};
  let sink = {console: [], pageErrors: [], requests: []}; // the current job's
  try {
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin === origin) return route.continue();
      const font = url.host === FONT_HOST && FONT_FILES[url.pathname.slice(1)];
      if (font) return route.fulfill({path: path.join(FONTS, font), contentType: 'font/ttf'});
      sink.requests.push(url.href);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (message) => {
      if (['error', 'warning', 'assert'].includes(message.type())) {
        sink.console.push(`${message.type()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => sink.pageErrors.push(String(error.stack || error)));
    await page.goto(`${origin}/`);
    output.fonts = await withTimeout(page.evaluate(() => window.ready), 'loading the renderer');
    output.setup = {console: sink.console, pageErrors: sink.pageErrors, requests: sink.requests};
    output.loadMs = Date.now() - started;
    for (const job of input.jobs) {
      sink = {console: [], pageErrors: [], requests: []};
      const result = {name: job.name};
      const jobStarted = Date.now();
      try {
        Object.assign(result, await withTimeout(
          page.evaluate((j) => window.renderView(j), job), `rendering ${job.name}`));
        if (job.screenshot && !result.error) {
          const shot = Date.now();
          fs.mkdirSync(path.dirname(job.screenshot), {recursive: true});
          await page.screenshot({path: job.screenshot, clip: {x: 0, y: 0,
            width: job.viewport.width, height: job.viewport.height}});
          result.screenshotMs = Date.now() - shot;
        }
        if (job.tap && !result.error) result.taps = await tapEach(page, result.touch);
        result.runtimeErrors = [...(result.runtimeErrors || []),
          ...await page.evaluate(() => window.takeRuntimeErrors())];
      } catch (error) {
        result.error = String(error.message || error);
      }
      Object.assign(result, sink);
      result.wallMs = Date.now() - jobStarted;
      output.results.push(result);
    }
  } finally {
    await context.close();
    server.close();
    fs.rmSync(userDataDir, {recursive: true, force: true});
  }
  output.totalMs = Date.now() - started;
  process.stdout.write(JSON.stringify(output));
}

// A finger's tap on each touch target, at its centre: what SendEvent would the skill get?
// (A touch, not a mouse click: the renderer ignores mouse events in its first half second,
// as it does the mouse events a browser makes up after a touch.)
async function tapEach(page, targets) {
  const taps = [];
  for (const target of targets || []) {
    const x = (target.box.left + target.box.right) / 2;
    const y = (target.box.top + target.box.bottom) / 2;
    await page.touchscreen.tap(x, y);
    // The renderer runs the press's commands in its next frame, before this callback.
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    taps.push({id: target.id, text: target.text,
      events: await page.evaluate(() => window.takeSentEvents())});
  }
  return taps;
}

main().catch((error) => {
  process.stderr.write(`render.mjs: ${error.stack || error}\n`);
  process.exit(1);
});
