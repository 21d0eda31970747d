// pages.test.mjs - the citizen tracking page and the clerk page in headless Chromium.
//
// Starts a real bccid + carrier simulator + worker through fixture.py (harness.py),
// drives Debian's Chromium with playwright-core, and checks: the tracking page at
// 390 px and 1280 px (status, journey rows, masked name, nothing private, large text,
// no horizontal scroll, works without JavaScript), the one 404 page, the clerk flow
// (token -> select -> labels PDF whose QR decodes to the tracking link -> handover
// manifest -> its PDF), no console errors and no request leaving 127.0.0.1.
// Screenshots go to tests/artifacts/; with BCCI_UPDATE_DOCS=1 also to docs/screenshots/.
// Every wait is bounded; every process started here is stopped. Exit 1 on any failure.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts', 'browser');
const DOCS = path.join(ROOT, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 15000;
const TOTAL_MS = 240000;

let checks = 0;
const failures = [];
function check(ok, what, detail) {
  checks++;
  if (ok) {
    console.log('  ok   ' + what);
  } else {
    console.log('  FAIL ' + what + (detail !== undefined ? ': ' + detail : ''));
    failures.push(what);
  }
}

function startFixture() {
  const child = spawn('python3', [path.join(HERE, 'fixture.py')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: process.env,
  });
  const ready = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('fixture did not start within 120 s')), 120000);
    child.stdout.on('data', (chunk) => {
      out += chunk.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (e) {
          reject(new Error('fixture printed no JSON: ' + out.slice(0, 200)));
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('fixture exited with ' + code + ' before it was ready'));
    });
  });
  return { child, ready };
}

function stopFixture(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.stdin.end('stop\n');
  });
}

function trackingToken(stateDir, waybill) {
  const secret = fs.readFileSync(path.join(stateDir, 'secret'));
  return createHmac('sha256', secret).update(waybill).digest('base64url').slice(0, 16);
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
  if (process.env.BCCI_UPDATE_DOCS === '1') {
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS, name));
  }
  console.log('  saved ' + path.relative(ROOT, file));
}

/* watch - collect console errors, page errors and requests to other hosts */
async function watch(context, label, bag) {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch (e) {
      host = '?';
    }
    if (host === '127.0.0.1') return route.continue();
    bag.external.push(label + ': ' + url);
    return route.abort();
  });
  context.on('page', (page) => hookPage(page, label, bag));
}

function hookPage(page, label, bag) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !bag.allowError(msg)) bag.console.push(label + ': ' + msg.text());
  });
  page.on('pageerror', (err) => bag.console.push(label + ': ' + err.message));
  page.setDefaultTimeout(WAIT_MS);
}

async function checkTracking(browser, info, bag, width, height, name) {
  const context = await browser.newContext({ viewport: { width, height }, locale: 'vi-VN' });
  await watch(context, 'tracking ' + width, bag);
  const page = await context.newPage();
  const res = await page.goto(info.url + info.tracking, { waitUntil: 'load' });
  check(res.status() === 200, `tracking ${width}px: HTTP 200`, res.status());
  check((res.headers()['content-security-policy'] || '').startsWith("default-src 'none'"),
    `tracking ${width}px: Content-Security-Policy default-src 'none'`);
  const status = (await page.locator('.status .now').textContent()).trim();
  check(status === 'Bưu tá đang giao kết quả đến bạn', `tracking ${width}px: status text`, status);
  const rows = page.locator('ol.timeline li');
  const n = await rows.count();
  check(n >= 5, `tracking ${width}px: at least 5 journey rows`, n);
  const first = (await rows.nth(0).textContent()) || '';
  check(first.includes('Bưu tá đang giao kết quả đến bạn'), `tracking ${width}px: newest row first`, first);
  const last = (await rows.nth(n - 1).textContent()) || '';
  check(last.includes('Đã tiếp nhận yêu cầu'), `tracking ${width}px: intake row last`, last);
  const times = await page.locator('ol.timeline time').allTextContents();
  check(times.length === n && times.every((t) => /^\d\d\/\d\d\/\d{4} \d\d:\d\d$/.test(t)),
    `tracking ${width}px: every row has a dd/MM/yyyy HH:mm time`, times.join(' | '));
  const who = (await page.locator('[data-field=recipient]').textContent()).trim();
  check(who === info.masked_name, `tracking ${width}px: masked recipient`, who);
  const html = await page.content();
  const leaked = info.private.filter((p) => html.includes(p));
  check(leaked.length === 0, `tracking ${width}px: no name, phone or address`, leaked.join(', '));
  check(await page.locator('a[href="tel:1900545481"]').count() === 1, `tracking ${width}px: hotline link`);
  check(await page.locator('[data-field=expected]').count() === 1, `tracking ${width}px: expected delivery date`);
  const fontPx = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  check(fontPx >= 18, `tracking ${width}px: body text >= 18 px`, fontPx);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `tracking ${width}px: no horizontal scrolling`, overflow);
  check(await page.getAttribute('html', 'lang') === 'vi', `tracking ${width}px: <html lang="vi">`);
  await shot(page, name);
  await context.close();
}

async function checkNoScript(browser, info, bag) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
  await watch(context, 'tracking no-js', bag);
  const page = await context.newPage();
  await page.goto(info.url + info.tracking_failed, { waitUntil: 'load' });
  const status = (await page.locator('.status .now').textContent()).trim();
  check(status === 'Phát không thành công', 'tracking without JavaScript: failed delivery shown', status);
  await context.close();
}

async function checkNotFound(browser, info, bag) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const saved = bag.allowError;
  bag.allowError = (msg) => /status of 404/.test(msg.text()); // the page itself answers 404
  await watch(context, 'not found', bag);
  const page = await context.newPage();
  const res = await page.goto(info.url + info.tracking_wrong, { waitUntil: 'load' });
  check(res.status() === 404, 'wrong k: HTTP 404', res.status());
  const h1 = (await page.locator('h1').textContent()).trim();
  check(h1 === 'Không tìm thấy bưu gửi', 'wrong k: the not-found page', h1);
  check(!(await page.content()).includes(info.waybills[0]), 'wrong k: the waybill is not echoed');
  await context.close();
  bag.allowError = saved;
}

async function download(page, click, name) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), click()]);
  const file = path.join(ARTIFACTS, name);
  await dl.saveAs(file);
  return file;
}

function decodeQr(pdf) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcci-qr-'));
  try {
    execFileSync('pdftoppm', ['-r', '203', '-png', '-f', '1', '-l', '1', pdf, path.join(dir, 'p')],
      { timeout: 60000, stdio: ['ignore', 'ignore', 'inherit'] });
    const png = fs.readdirSync(dir).find((f) => f.endsWith('.png'));
    if (!png) return [];
    let out = '';
    try {
      out = execFileSync('zbarimg', ['-q', '--raw', '-Sdisable', '-Sqrcode.enable', path.join(dir, png)],
        { timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8');
    } catch (e) {
      out = e.stdout ? e.stdout.toString('utf8') : '';
    }
    return out.split('\n').map((s) => s.trim()).filter(Boolean);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function checkClerk(browser, info, bag) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true,
    locale: 'vi-VN' });
  await watch(context, 'clerk', bag);
  const page = await context.newPage();
  const res = await page.goto(info.url + '/clerk', { waitUntil: 'load' });
  check(res.status() === 200, 'clerk: HTTP 200', res.status());
  await page.locator('#token').waitFor({ state: 'visible' });
  await page.fill('#token', info.clerk_token);
  await page.click('#login-form button[type=submit]');
  const readyRows = page.locator('#ready tbody tr');
  await page.waitForFunction((n) => document.querySelectorAll('#ready tbody tr').length === n, info.ready.length,
    { timeout: WAIT_MS }).catch(() => {});
  // the page loads ready, problems and dead jobs one after the other; the jobs count is filled last
  await page.waitForFunction(() => document.getElementById('jobs-count').textContent !== '', null,
    { timeout: WAIT_MS }).catch(() => {});
  const listed = await readyRows.evaluateAll((trs) => trs.map((tr) => tr.dataset.waybill).sort());
  check(JSON.stringify(listed) === JSON.stringify([...info.ready].sort()), 'clerk: ready shipments listed',
    listed.join(','));
  const problems = await page.locator('#problems tbody tr').evaluateAll(
    (trs) => trs.map((tr) => tr.dataset.waybill).sort());
  check(JSON.stringify(problems) === JSON.stringify(info.problems), 'clerk: failed delivery and exception listed to act on',
    problems.join(','));
  const deadRows = await page.locator('#jobs tbody tr').count();
  check(deadRows >= 1, 'clerk: the dead book job is listed with a retry button', deadRows);
  await shot(page, 'clerk.png');

  // select two, print their labels
  const pick = info.ready.slice(0, 2);
  for (const wb of pick) await page.check(`#ready input[value="${wb}"]`);
  check(await page.isEnabled('#print'), 'clerk: print enabled after selecting');
  let pdf = null;
  try {
    pdf = await download(page, () => page.click('#print'), 'labels.pdf');
  } catch (e) {
    check(false, 'clerk: labels PDF downloaded', (await page.textContent('#msg')) + ' ' + e.message);
  }
  if (pdf) {
    const head = fs.readFileSync(pdf).subarray(0, 5).toString('latin1');
    check(head === '%PDF-', 'clerk: labels download is a PDF', JSON.stringify(head));
    const codes = decodeQr(pdf);
    const want = `/t/${pick[0]}?k=${trackingToken(info.state_dir, pick[0])}`;
    check(codes.some((c) => c.endsWith(want)), 'labels PDF: QR on page 1 decodes to the tracking link',
      codes.join(' | ') + ' want …' + want);
    // the link in the QR opens the page for that waybill
    const p2 = await context.newPage();
    const r2 = await p2.goto(info.url + want, { waitUntil: 'load' });
    check(r2.status() === 200 && (await p2.content()).includes(pick[0]), 'QR link opens the tracking page',
      r2.status());
    await p2.close();
  }

  // hand them over
  await page.click('#manifest');
  let manifestShown = true;
  try {
    await page.locator('#manifest-done').waitFor({ state: 'visible', timeout: WAIT_MS });
  } catch (e) {
    manifestShown = false;
  }
  check(manifestShown, 'clerk: handover manifest created', await page.textContent('#msg'));
  if (manifestShown) {
    const text = await page.textContent('#manifest-done');
    check(/Biên bản giao nhận số \S+ — 2 bưu gửi/.test(text), 'clerk: manifest number and count shown', text);
    try {
      const mpdf = await download(page, () => page.click('#manifest-pdf'), 'manifest.pdf');
      const head = fs.readFileSync(mpdf).subarray(0, 5).toString('latin1');
      check(head === '%PDF-', 'clerk: manifest PDF downloaded', JSON.stringify(head));
    } catch (e) {
      check(false, 'clerk: manifest PDF downloaded', (await page.textContent('#msg')) + ' ' + e.message);
    }
    await page.waitForFunction((n) => document.querySelectorAll('#ready tbody tr').length === n,
      info.ready.length - pick.length, { timeout: WAIT_MS }).catch(() => {});
    const left = await readyRows.evaluateAll((trs) => trs.map((tr) => tr.dataset.waybill));
    check(left.length === info.ready.length - pick.length && !left.some((w) => pick.includes(w)),
      'clerk: handed-over shipments leave the ready list', left.join(','));
    await shot(page, 'clerk-after-manifest.png');
  }

  // replay the dead job: the good worker is back, so it leaves the dead list
  if (deadRows >= 1) {
    await page.locator('#jobs tbody tr').first().locator('button').click();
    let retried = true;
    try {
      await page.waitForFunction(() => document.getElementById('msg').textContent.startsWith('Đã đưa tác vụ'),
        null, { timeout: WAIT_MS });
    } catch (e) {
      retried = false;
    }
    check(retried, 'clerk: dead job retried', await page.textContent('#msg'));
    const after = await page.locator('#jobs tbody tr').count();
    check(after === deadRows - 1, 'clerk: the retried job left the dead list', after);
  }

  // a wrong token is refused with a message, not a crash
  await page.click('#logout');
  await page.fill('#token', 'not-a-token');
  const saved = bag.allowError;
  bag.allowError = (msg) => /status of 401/.test(msg.text());
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('msg').textContent.includes('Mã truy cập'),
    null, { timeout: WAIT_MS }).catch(() => {});
  check((await page.textContent('#msg')).includes('Mã truy cập không đúng'), 'clerk: wrong token refused');
  bag.allowError = saved;
  await context.close();
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const fx = startFixture();
  let browser = null;
  const watchdog = setTimeout(() => {
    console.log('FAIL: browser tests did not finish within ' + TOTAL_MS / 1000 + ' s');
    fx.child.kill('SIGTERM');
    process.exit(1);
  }, TOTAL_MS);
  const bag = { console: [], external: [], allowError: () => false };
  try {
    const info = await fx.ready;
    console.log('bccid at ' + info.url + '; Chromium ' + CHROMIUM);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    console.log('tracking page');
    await checkTracking(browser, info, bag, 390, 844, 'tracking-390.png');
    await checkTracking(browser, info, bag, 1280, 900, 'tracking-1280.png');
    await checkNoScript(browser, info, bag);
    await checkNotFound(browser, info, bag);
    console.log('clerk page');
    await checkClerk(browser, info, bag);
    check(bag.console.length === 0, 'no console errors', bag.console.join(' | '));
    check(bag.external.length === 0, 'no request left 127.0.0.1', bag.external.join(' | '));
  } catch (e) {
    check(false, 'browser tests ran to the end', e.stack || String(e));
  } finally {
    if (browser) await browser.close().catch(() => {});
    const code = await stopFixture(fx.child);
    check(code === 0, 'bccid, simulator and worker stopped cleanly (no sanitizer report)', code);
    clearTimeout(watchdog);
  }
  console.log(`${checks - failures.length}/${checks} checks passed`);
  process.exit(failures.length ? 1 : 0);
}

main();
