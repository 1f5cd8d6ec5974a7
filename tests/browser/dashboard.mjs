// The dashboard in a real browser: headless Chromium (playwright-core, the system's browser) against
// a server with the demo data. Started by scripts/browser-test.sh, which sets:
//
//   BASE_URL         the server, e.g. http://127.0.0.1:40123
//   MINISTRY_TOKEN   a ministry token (sees every view)
//   APPLICANT_TOKEN  an applicant token (every view is 403 for it)
//   SCREENSHOT_DIR   where the screenshots and the overview's A4 PDF go
//   CHROMIUM         the browser (default /usr/bin/chromium)
//
// Each check prints one line, `ok` or `FAIL`, with the details of a failure below it. Every check
// runs, whatever failed before; the exit status is 1 if any failed. The expected figures come from
// the report API (fetched here with the ministry's bearer token) and are formatted in German by
// this file's own formatter, never by the page's.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

const BASE_URL = need('BASE_URL').replace(/\/$/, '');
const MINISTRY_TOKEN = need('MINISTRY_TOKEN');
const APPLICANT_TOKEN = need('APPLICANT_TOKEN');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || 'target/browser';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ORIGIN = new URL(BASE_URL).origin;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const NAVIGATION_TIMEOUT = 90_000; // a report page of a debug build on two shared cores
const ACTION_TIMEOUT = 15_000; // an element of a page already loaded: no need to wait long

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`dashboard.mjs: ${name} is not set (run scripts/browser-test.sh)`);
    process.exit(2);
  }
  return value;
}

// --- reporting ------------------------------------------------------------------------------------

const results = [];
function check(id, ok, what, details = []) {
  results.push({ id, ok, what });
  console.log(`${ok ? 'ok  ' : 'FAIL'} [${id}] ${what}`);
  if (!ok) {
    const lines = Array.isArray(details) ? details : [details];
    const shown = lines.slice(0, 40);
    for (const line of shown) console.log(`       ${line}`);
    if (lines.length > shown.length) console.log(`       … and ${lines.length - shown.length} more`);
  }
  return ok;
}
// Equal lines once, with how often they came.
function counted(lines) {
  const n = new Map();
  for (const line of lines) n.set(line, (n.get(line) || 0) + 1);
  return [...n].map(([line, k]) => (k > 1 ? `${line} (${k} times)` : line));
}
function note(id, text) {
  console.log(`     [${id}] note: ${text}`);
}
// Runs one section; an exception (a timeout, a missing element) is that section's failure.
async function section(id, what, body) {
  try {
    await body();
  } catch (e) {
    check(id, false, `${what}: ${e.message.split('\n')[0]}`, String(e.stack || e).split('\n').slice(1, 12));
  }
}

// --- German number formats (the test's own) -------------------------------------------------------

function groupThousands(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}
function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
// A money string of the API ("310620.00", "-12.50") as the page must show it: "310.620,00 €"
// (a normal or a non-breaking space before €; a minus sign as '-' or U+2212).
function moneyPattern(api) {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(api);
  if (!m) throw new Error(`not an API amount: ${JSON.stringify(api)}`);
  const sign = m[1] ? '[-\u2212]' : '';
  return {
    re: new RegExp(`^${sign}${escapeRe(groupThousands(m[2]))},${m[3]}[ \u00a0]€$`),
    shown: `${m[1] ? '-' : ''}${groupThousands(m[2])},${m[3]} €`,
  };
}
// A count: "1.331" (German grouping) or "1331".
function countPattern(api) {
  const digits = String(api);
  if (!/^\d+$/.test(digits)) throw new Error(`not an API count: ${JSON.stringify(api)}`);
  return {
    re: new RegExp(`^(${escapeRe(groupThousands(digits))}|${digits})$`),
    shown: groupThousands(digits),
  };
}
// Days with two decimals ("55.03") as "55,03", optionally followed by the unit ("55,03 Tage").
function daysPattern(api) {
  const m = /^(\d+)\.(\d{2})$/.exec(api);
  if (!m) throw new Error(`not an API day figure: ${JSON.stringify(api)}`);
  return {
    re: new RegExp(`^${escapeRe(groupThousands(m[1]))},${m[2]}([ \u00a0](Tage|d))?$`),
    shown: `${groupThousands(m[1])},${m[2]}`,
  };
}
const PATTERN = { money: moneyPattern, count: countPattern, days: daysPattern };

// --- the views and their API reports --------------------------------------------------------------

const MONEY = ['requested', 'granted', 'paid', 'reclaimed', 'repaid'];
const VOLUME_FIELDS = { count: 'count', ...Object.fromEntries(MONEY.map((f) => [f, 'money'])) };
const NAV = ['/dashboard/', '/dashboard/regionen', '/dashboard/antragsbestand', '/dashboard/haushalt', '/dashboard/bearbeitungsdauer'];

// expected(api json) → { rows: [{key, cells: {field: value}}], total: cells | null }
const volumesBy = (keyField) => (json) => ({
  rows: json.rows.map((r) => ({ key: String(r[keyField]), cells: pick(r, Object.keys(VOLUME_FIELDS)) })),
  total: pick(json.totals, Object.keys(VOLUME_FIELDS)),
});
function pick(obj, fields) {
  return Object.fromEntries(fields.map((f) => [f, obj[f] === undefined ? null : obj[f]]));
}

const VIEWS = [
  {
    name: 'ueberblick',
    path: '/dashboard/',
    report: 'volumes',
    api: '/api/v1/reports/volumes?group_by=year&basis=notice',
    fields: VOLUME_FIELDS,
    expected: volumesBy('year'),
    total: 'required',
  },
  {
    name: 'ueberblick-2019-2020',
    path: '/dashboard/?from=2019&to=2020',
    report: 'volumes',
    api: '/api/v1/reports/volumes?group_by=year&basis=notice&from=2019&to=2020',
    fields: VOLUME_FIELDS,
    expected: volumesBy('year'),
    total: 'required',
  },
  {
    name: 'ueberblick-gefiltert',
    path: '/dashboard/?from=2020&to=2024&programme=THUEREGOVRL-2018&kreis=16063&basis=submission&as_of=2024-12-31',
    report: 'volumes',
    api: '/api/v1/reports/volumes?group_by=year&basis=submission&from=2020&to=2024&programme=THUEREGOVRL-2018&kreis=16063&as_of=2024-12-31',
    fields: VOLUME_FIELDS,
    expected: volumesBy('year'),
    total: 'required',
  },
  {
    name: 'regionen',
    path: '/dashboard/regionen',
    report: 'volumes',
    api: '/api/v1/reports/volumes?group_by=kreis',
    fields: VOLUME_FIELDS,
    expected: volumesBy('kreis'),
    total: 'if-present',
    kreisLinks: true,
  },
  {
    name: 'regionen-16063',
    path: '/dashboard/regionen?kreis=16063',
    report: 'volumes',
    api: '/api/v1/reports/volumes?group_by=municipality&kreis=16063',
    fields: VOLUME_FIELDS,
    expected: volumesBy('ags'),
    total: 'if-present',
  },
  {
    name: 'antragsbestand',
    path: '/dashboard/antragsbestand?as_of=2019-12-31',
    report: 'pipeline',
    api: '/api/v1/reports/pipeline?as_of=2019-12-31',
    fields: { count: 'count', requested: 'money' },
    expected: (json) => ({
      rows: json.rows.map((r) => ({ key: r.status, cells: pick(r, ['count', 'requested']) })),
      total: { count: json.open, requested: json.requested },
    }),
    total: 'required',
  },
  {
    name: 'haushalt',
    path: '/dashboard/haushalt',
    report: 'budget',
    api: '/api/v1/reports/budget',
    fields: { amount: 'money', committed: 'money', paid: 'money', available: 'money' },
    expected: (json) => ({
      rows: json.rows.map((r) => ({
        key: `${r.programme}/${r.fiscal_year}`,
        cells: pick(r, ['amount', 'committed', 'paid', 'available']),
      })),
      total: null,
    }),
    total: 'none',
  },
  {
    name: 'haushalt-2020',
    path: '/dashboard/haushalt?year=2020&as_of=2020-12-31',
    report: 'budget',
    api: '/api/v1/reports/budget?year=2020&as_of=2020-12-31',
    fields: { amount: 'money', committed: 'money', paid: 'money', available: 'money' },
    expected: (json) => ({
      rows: json.rows.map((r) => ({
        key: `${r.programme}/${r.fiscal_year}`,
        cells: pick(r, ['amount', 'committed', 'paid', 'available']),
      })),
      total: null,
    }),
    total: 'none',
  },
  {
    name: 'bearbeitungsdauer',
    path: '/dashboard/bearbeitungsdauer?year=2020',
    report: 'processing',
    api: '/api/v1/reports/processing-times?year=2020',
    fields: { decided: 'count', granted: 'count', rejected: 'count', median_days: 'days', p90_days: 'days' },
    expected: (json) => {
      const fields = ['decided', 'granted', 'rejected', 'median_days', 'p90_days'];
      const rows = json.rows.map((r) => ({ key: r.programme ?? 'total', cells: pick(r, fields) }));
      return { rows, total: null };
    },
    total: 'none',
  },
];

// --- the API (the expected figures) ---------------------------------------------------------------

async function api(path, token = MINISTRY_TOKEN) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(BASE_URL + path, { headers: { Authorization: `Bearer ${token}` } });
    // A report beyond the server's bound of expensive requests is 503 + Retry-After.
    if (res.status === 503 && attempt < 4) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') || 1)));
      continue;
    }
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    // Anything but JSON as bytes: res.text() would drop a byte order mark.
    return (res.headers.get('content-type') || '').includes('json') ? res.json() : Buffer.from(await res.arrayBuffer());
  }
}

// --- the browser ----------------------------------------------------------------------------------

const requests = []; // every request any page made: {context, url}
const blocked = []; // aborted by the route guard
const failedLoads = []; // subresources that failed or answered >= 400
const consoleErrors = []; // console errors, page errors, CSP violations

async function newContext(browser, label, options = {}) {
  const context = await browser.newContext({ locale: 'de-DE', ...options });
  context.setDefaultTimeout(ACTION_TIMEOUT);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) return route.continue();
    blocked.push(`${label}: ${route.request().url()}`);
    return route.abort('blockedbyclient');
  });
  context.on('request', (req) => requests.push({ context: label, url: req.url() }));
  context.on('requestfailed', (req) => {
    if (req.isNavigationRequest()) return;
    failedLoads.push(`${label}: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  context.on('response', (res) => {
    if (res.request().isNavigationRequest()) return; // statuses of documents are checked where expected
    if (res.status() >= 400) failedLoads.push(`${label}: ${res.request().method()} ${res.url()}: ${res.status()}`);
  });
  context.on('console', (msg) => {
    // "Failed to load resource" repeats a status that `failedLoads` already judges (and a
    // document's 401/403 that the checks expect).
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      consoleErrors.push(`${label}: ${msg.location()?.url || ''}: ${msg.text()}`);
    }
  });
  context.on('weberror', (err) => consoleErrors.push(`${label}: page error: ${err.error().message}`));
  return context;
}

async function visit(page, path) {
  const res = await page.goto(BASE_URL + path, { waitUntil: 'load' });
  if (!res) throw new Error(`no response for ${path}`);
  return res;
}

function pathOf(url) {
  return new URL(url, BASE_URL).pathname;
}

// The sign-in form as the contract has it; returns the problems.
async function signInFormProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const forms = [...document.querySelectorAll('form')].filter(
      (f) => (f.getAttribute('method') || '').toLowerCase() === 'post' && new URL(f.action).pathname === '/dashboard/session',
    );
    if (forms.length !== 1) {
      problems.push(`${forms.length} <form method="post" action="/dashboard/session"> (want 1)`);
      return problems;
    }
    const form = forms[0];
    const input = form.querySelector('input#token');
    if (!input) problems.push('no <input id="token"> in the form');
    else {
      if (input.getAttribute('name') !== 'token') problems.push(`input#token has name=${input.getAttribute('name')}`);
      if (input.getAttribute('type') !== 'password') problems.push(`input#token has type=${input.getAttribute('type')}`);
      const labels = [...(input.labels || [])].map((l) => l.textContent.trim());
      if (!labels.some((t) => t.includes('Token'))) problems.push(`input#token's labels: ${JSON.stringify(labels)} (want "Token")`);
    }
    const submit = [...form.elements].find((e) => e.type === 'submit');
    if (!submit) problems.push('no submit button in the form');
    return problems;
  });
}

// Signs in through the form: types the token, submits. Returns {post, final}.
async function signIn(page, token) {
  await page.locator('#token').click();
  await page.keyboard.type(token);
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === '/dashboard/session', { timeout: NAVIGATION_TIMEOUT }),
    page.locator('form[action$="/dashboard/session"] [type="submit"], form[action$="/dashboard/session"] button:not([type])').first().click(),
  ]);
  await page.waitForLoadState('load');
  const next = post.request().redirectedTo();
  const final = next ? await next.response() : null;
  return { post, final };
}

// The structure every view has; returns the problems.
async function structureProblems(page, report) {
  return page.evaluate(
    ({ report, nav }) => {
      const problems = [];
      const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
      if (document.documentElement.getAttribute('lang') !== 'de') {
        problems.push(`<html lang="${document.documentElement.getAttribute('lang')}"> (want "de")`);
      }
      const focusable = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')].filter(
        (el) => !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0,
      );
      const first = focusable[0];
      if (!first || first.tagName !== 'A' || !first.classList.contains('skip') || first.getAttribute('href') !== '#inhalt' || text(first) !== 'Zum Inhalt') {
        problems.push(`first focusable element is ${first ? first.outerHTML.slice(0, 120) : 'none'} (want <a href="#inhalt" class="skip">Zum Inhalt</a>)`);
      }
      const navs = document.querySelectorAll('nav[aria-label="Ansichten"]');
      if (navs.length !== 1) problems.push(`${navs.length} <nav aria-label="Ansichten"> (want 1)`);
      else {
        const paths = [...navs[0].querySelectorAll('a[href]')].map((a) => new URL(a.href).pathname);
        for (const p of nav) if (!paths.includes(p)) problems.push(`the nav has no link to ${p} (links: ${paths.join(', ')})`);
      }
      const main = document.querySelector('main#inhalt');
      if (!main) {
        problems.push('no <main id="inhalt">');
        return problems;
      }
      const h1 = main.querySelectorAll('h1');
      if (h1.length !== 1) problems.push(`${h1.length} <h1> in <main> (want 1)`);
      const forms = [...main.querySelectorAll('form')].filter((f) => (f.getAttribute('method') || '').toLowerCase() === 'get');
      if (forms.length < 1) problems.push('no filter <form method="get"> in <main>');
      for (const form of forms) {
        for (const el of form.querySelectorAll('input, select, textarea')) {
          if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
          const labelled = (el.labels && el.labels.length > 0 && [...el.labels].some((l) => text(l))) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          if (!labelled) problems.push(`filter field ${el.outerHTML.slice(0, 100)} has no label`);
        }
        if (![...form.elements].some((e) => e.type === 'submit')) problems.push('the filter form has no submit button');
      }
      const figures = [...main.querySelectorAll('figure')].filter((f) => f.querySelector('svg[role="img"]'));
      if (figures.length < 1) problems.push('no <figure> with an inline <svg role="img"> in <main>');
      for (const f of figures) if (!text(f.querySelector('figcaption'))) problems.push('a chart <figure> without a <figcaption> (or an empty one)');
      const tables = main.querySelectorAll(`table[data-report="${report}"]`);
      if (tables.length < 1) problems.push(`no <table data-report="${report}"> in <main>`);
      for (const t of tables) if (!text(t.caption)) problems.push(`a <table data-report="${report}"> without a <caption>`);
      const downloads = [...document.querySelectorAll('a[data-download]')];
      if (!downloads.some((a) => text(a).includes('CSV herunterladen') && a.getAttribute('href'))) {
        problems.push(`no <a data-download href="…">CSV herunterladen</a> (found: ${JSON.stringify(downloads.map((a) => text(a)))})`);
      }
      const signOut = [...document.querySelectorAll('form')].filter(
        (f) => (f.getAttribute('method') || '').toLowerCase() === 'post' && new URL(f.action).pathname === '/dashboard/session/ende',
      );
      if (signOut.length < 1) problems.push('no <form method="post" action="/dashboard/session/ende">');
      else if (![...signOut[0].querySelectorAll('button, input[type="submit"]')].some((b) => (text(b) || b.value || '').includes('Abmelden'))) {
        problems.push('the sign-out form has no button "Abmelden"');
      }
      return problems;
    },
    { report, nav: NAV },
  );
}

// The tables of a report as the page shows them.
async function readTables(page, report) {
  return page.$$eval(`table[data-report="${report}"]`, (tables) =>
    tables.map((t) => ({
      rows: [...t.querySelectorAll('tr[data-key]')].map((tr) => ({
        key: tr.getAttribute('data-key'),
        cells: [...tr.querySelectorAll(':scope > td[data-field]')].map((td) => ({
          field: td.getAttribute('data-field'),
          value: td.getAttribute('data-value'),
          text: td.textContent.replace(/[ \t\r\n]+/g, ' ').trim(),
        })),
        links: [...tr.querySelectorAll('a[href]')].map((a) => a.href),
      })),
    })),
  );
}

// Compares the page's table with the API's figures; returns the problems.
function compareTable(view, table, expected) {
  const problems = [];
  const byKey = new Map();
  for (const row of table.rows) {
    if (byKey.has(row.key)) problems.push(`row data-key="${row.key}" appears twice`);
    byKey.set(row.key, row);
  }
  const compareCells = (key, row, cells) => {
    for (const [field, apiValue] of Object.entries(cells)) {
      const found = row.cells.filter((c) => c.field === field);
      if (found.length !== 1) {
        problems.push(`row ${key}: ${found.length} cells data-field="${field}" (want 1)`);
        continue;
      }
      const cell = found[0];
      const want = apiValue === null ? '' : String(apiValue);
      if (cell.value !== want) problems.push(`row ${key} ${field}: data-value=${JSON.stringify(cell.value)}, API ${JSON.stringify(want)}`);
      if (apiValue === null) {
        if (/\d/.test(cell.text)) problems.push(`row ${key} ${field}: shows ${JSON.stringify(cell.text)} for the API's null`);
      } else {
        const pattern = PATTERN[view.fields[field]](apiValue);
        if (!pattern.re.test(cell.text)) problems.push(`row ${key} ${field}: shows ${JSON.stringify(cell.text)}, want ${JSON.stringify(pattern.shown)} (API ${JSON.stringify(want)})`);
      }
    }
  };
  for (const row of expected.rows) {
    const dom = byKey.get(row.key);
    if (!dom) {
      problems.push(`no row data-key="${row.key}" (API row ${JSON.stringify(row.cells)})`);
      continue;
    }
    compareCells(row.key, dom, row.cells);
    if (view.kreisLinks) {
      const ok = dom.links.some((href) => {
        const u = new URL(href);
        return u.pathname === '/dashboard/regionen' && u.searchParams.get('kreis') === row.key;
      });
      if (!ok) problems.push(`row ${row.key}: no link to /dashboard/regionen?kreis=${row.key} (links: ${JSON.stringify(dom.links)})`);
    }
  }
  const expectedKeys = new Set(expected.rows.map((r) => r.key));
  if (view.total === 'required' || (view.total === 'if-present' && byKey.has('total'))) {
    const dom = byKey.get('total');
    if (!dom) problems.push(`no totals row data-key="total" (API ${JSON.stringify(expected.total)})`);
    else compareCells('total', dom, expected.total);
    expectedKeys.add('total');
  }
  for (const key of byKey.keys()) {
    if (!expectedKeys.has(key)) problems.push(`row data-key="${key}" is not in the API's answer`);
  }
  const order = table.rows.map((r) => r.key).filter((k) => k !== 'total');
  const apiOrder = expected.rows.map((r) => r.key).filter((k) => k !== 'total');
  if (problems.length === 0 && order.join() !== apiOrder.join()) {
    note(4, `${view.name}: rows in another order than the API's (${order.slice(0, 6).join(', ')}…)`);
  }
  return problems;
}

// The table of the view that holds the API's rows (when a page has several of one report).
function tableFor(tables, expected) {
  if (tables.length <= 1) return tables[0];
  const keys = new Set(expected.rows.map((r) => r.key));
  return [...tables].sort((a, b) => b.rows.filter((r) => keys.has(r.key)).length - a.rows.filter((r) => keys.has(r.key)).length)[0];
}

// The focused element and whether its focus can be seen.
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const cs = getComputedStyle(el);
    const transparent = (c) => c === 'transparent' || /rgba\(.*,\s*0\)$/.test(c);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 && !transparent(cs.outlineColor);
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    const r = el.getBoundingClientRect();
    const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
    return {
      tag: el.tagName.toLowerCase(),
      attrs: ['type', 'name', 'id'].map((a) => (el.getAttribute(a) ? ` ${a}="${el.getAttribute(a)}"` : '')).join(''),
      // A date field's calendar button is a focus stop of its own inside the field: the field is
      // document.activeElement, :focus-within matches and :focus does not.
      pseudo: `:focus ${el.matches(':focus')}, :focus-visible ${el.matches(':focus-visible')}, :focus-within ${el.matches(':focus-within')}`,
      text: (el.textContent || el.value || '').replace(/\s+/g, ' ').trim(),
      href: el.getAttribute('href'),
      path: el.href ? new URL(el.href).pathname : null,
      skip: el.tagName === 'A' && el.classList.contains('skip') && el.getAttribute('href') === '#inhalt',
      inNav: !!el.closest('nav[aria-label="Ansichten"]'),
      inMain: !!el.closest('main#inhalt'),
      filterSubmit: el.type === 'submit' && !!el.form && (el.form.getAttribute('method') || '').toLowerCase() === 'get' && !!el.closest('main#inhalt'),
      indicator: outline || shadow,
      style: `outline: ${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}; box-shadow: ${cs.boxShadow}`,
      onScreen,
      rect: `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}x${Math.round(r.height)}`,
    };
  });
}
const describe = (f) => (f ? `<${f.tag}${f.attrs}${f.href ? ` href="${f.href}"` : ''}> "${f.text.slice(0, 40)}"` : 'nothing (body)');

async function axeViolations(page) {
  await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  }, AXE_TAGS);
}
function formatViolations(violations) {
  const lines = [];
  for (const v of violations) {
    lines.push(`${v.id} (${v.impact}): ${v.help}`);
    for (const t of v.targets) lines.push(`    ${t}`);
  }
  return lines;
}

// --- the run --------------------------------------------------------------------------------------

mkdirSync(SCREENSHOT_DIR, { recursive: true });
const screenshots = [];
async function screenshot(page, name) {
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
} catch (e) {
  console.error(`dashboard.mjs: Chromium did not start (${CHROMIUM}): ${e.message}`);
  process.exit(1);
}
console.log(`browser: Chromium ${browser.version()}, server ${BASE_URL}`);

const ministry = await newContext(browser, 'ministry');
const page = await ministry.newPage();
const csvLinks = []; // hrefs of the views' downloads, for the applicant's check

// 2. Sign-in
await section(2, 'sign-in', async () => {
  const signInPage = await visit(page, '/dashboard/anmelden');
  check(2, signInPage.status() === 200, `GET /dashboard/anmelden answers ${signInPage.status()} (want 200)`);
  let problems = await signInFormProblems(page);
  check(2, problems.length === 0, 'the sign-in page has the form (input#token, type password, label "Token", submit)', problems);
  await screenshot(page, 'anmelden');

  const anonymous = await visit(page, '/dashboard/');
  check(2, anonymous.status() === 401, `GET /dashboard/ without a cookie answers ${anonymous.status()} (want 401)`);
  problems = await signInFormProblems(page);
  check(2, problems.length === 0, 'the 401 answer is the sign-in page', problems);

  const { post, final } = await signIn(page, MINISTRY_TOKEN);
  const location = post.headers()['location'];
  const sent = await post.request().allHeaders();
  const said = post.status() === 303 ? '' : await page.locator('[role="alert"], main').first().innerText().catch(() => '');
  check(2, post.status() === 303 && location && pathOf(location) === '/dashboard/',
    `POST /dashboard/session answers ${post.status()} to ${location} (want 303 to /dashboard/)`,
    [`the browser sent Origin: ${sent.origin}${sent.referer ? `, Referer: ${sent.referer}` : ''}; the form's page came with Referrer-Policy: ${anonymous.headers()['referrer-policy']}`,
      `the page says: ${said.replace(/\s+/g, ' ').slice(0, 300)}`]);
  const body = post.request().postData() || '';
  const type = post.request().headers()['content-type'] || '';
  check(2, type.startsWith('application/x-www-form-urlencoded') && new URLSearchParams(body).get('token') === MINISTRY_TOKEN,
    `the form posts token=… form-encoded (${type})`);
  const setCookie = (await post.headerValue('set-cookie')) || '';
  const cookies = await ministry.cookies(); // all of them: a cookie with Path=/dashboard does not match BASE_URL's /
  const cookieProblems = [];
  if (!setCookie) cookieProblems.push('no Set-Cookie');
  if (!/;\s*HttpOnly/i.test(setCookie)) cookieProblems.push(`Set-Cookie without HttpOnly: ${setCookie.replace(/=[^;]*/, '=…')}`);
  if (!/;\s*SameSite=Strict/i.test(setCookie)) cookieProblems.push(`Set-Cookie without SameSite=Strict: ${setCookie.replace(/=[^;]*/, '=…')}`);
  if (cookies.length < 1) cookieProblems.push('the browser kept no cookie');
  for (const c of cookies) if (!c.httpOnly || c.sameSite !== 'Strict') cookieProblems.push(`cookie ${c.name}: httpOnly ${c.httpOnly}, sameSite ${c.sameSite}`);
  check(2, cookieProblems.length === 0, `the session cookie is HttpOnly and SameSite=Strict (${cookies.map((c) => c.name).join(', ')})`, cookieProblems);
  check(2, pathOf(page.url()) === '/dashboard/' && final?.status() === 200,
    `signed in through the form, landed on ${pathOf(page.url())} with ${final?.status()} (want /dashboard/, 200)`);
});

// 3. The acceptance figures of the demo data.
await section(3, 'acceptance figures', async () => {
  const res = await visit(page, '/dashboard/?from=2019&to=2020');
  check(3, res.status() === 200, `GET /dashboard/?from=2019&to=2020 answers ${res.status()}`);
  const tables = await readTables(page, 'volumes');
  const rows = new Map(tables.flatMap((t) => t.rows).map((r) => [r.key, r]));
  const cell = (key, field) => rows.get(key)?.cells.find((c) => c.field === field);
  const c2019 = cell('2019', 'count');
  check(3, c2019?.value === '16' && c2019?.text === '16', `2019: count 16 (shows ${JSON.stringify(c2019)})`);
  const g2019 = cell('2019', 'granted');
  check(3, g2019?.value === '310620.00' && /^310\.620,00[ \u00a0]€$/.test(g2019?.text ?? ''),
    `2019: granted 310.620,00 € with data-value 310620.00 (shows ${JSON.stringify(g2019)})`);
  const c2020 = cell('2020', 'count');
  check(3, c2020?.value === '163' && c2020?.text === '163', `2020: count 163 (shows ${JSON.stringify(c2020)})`);
});

// 4. Every view equals the API, cell by cell; its structure; its CSV link. 9: a screenshot of each.
for (const view of VIEWS) {
  await section(4, view.name, async () => {
    const json = await api(view.api);
    const expected = view.expected(json);
    const res = await visit(page, view.path);
    check(4, res.status() === 200, `${view.name}: GET ${view.path} answers ${res.status()}`);
    await screenshot(page, view.name);
    const structure = await structureProblems(page, view.report);
    check(4, structure.length === 0, `${view.name}: structure (lang, skip link, nav, main, h1, filter form, chart, table caption, CSV link, Abmelden)`, structure);
    const table = tableFor(await readTables(page, view.report), expected);
    if (!table) {
      check(4, false, `${view.name}: no <table data-report="${view.report}">`);
      return;
    }
    const problems = compareTable(view, table, expected);
    const totalNote = view.total === 'required' || table.rows.some((r) => r.key === 'total') ? ' + totals' : '';
    check(4, problems.length === 0,
      `${view.name}: ${expected.rows.length} rows${totalNote} equal ${view.api} (data-value and German text)`, problems);
    if (view.total === 'if-present' && !table.rows.some((r) => r.key === 'total')) note(4, `${view.name}: no totals row`);

    // The CSV link: the browser (its cookie, no bearer token) gets the view's German CSV.
    const href = await page.getAttribute('a[data-download]', 'href');
    if (!href) return; // reported by the structure check
    const url = new URL(href, page.url()).toString();
    csvLinks.push(url);
    const csv = await ministry.request.get(url, { maxRedirects: 0 });
    const csvType = csv.headers()['content-type'] || '';
    const apiCsvPath = `${view.api}${view.api.includes('?') ? '&' : '?'}format=csv-de`;
    const apiCsv = await api(apiCsvPath);
    const got = csv.status() === 200 ? await csv.body() : Buffer.alloc(0);
    const csvProblems = [];
    if (csv.status() !== 200) csvProblems.push(`GET ${href} with the session cookie answers ${csv.status()}`);
    else {
      if (!csvType.startsWith('text/csv')) csvProblems.push(`content-type ${csvType}`);
      if (!got.equals(apiCsv)) {
        // Decoded with the byte order mark kept, so that one more or less shows.
        const lines = (buf) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(buf).split('\n');
        const a = lines(got);
        const b = lines(apiCsv);
        const i = Math.max(0, a.findIndex((line, n) => line !== b[n]));
        csvProblems.push(`differs from ${apiCsvPath} at line ${i + 1}: ${JSON.stringify(a[i])} vs API ${JSON.stringify(b[i])} (${a.length} vs ${b.length} lines, ${got.length} vs ${apiCsv.length} bytes)`);
      }
    }
    check(4, csvProblems.length === 0, `${view.name}: "CSV herunterladen" (${href}) gives the API's csv-de`, csvProblems);
  });
}

// 4 (filter form): the overview's filter form, filled in and submitted by the browser.
await section(4, 'filter form', async () => {
  await visit(page, '/dashboard/');
  const form = page.locator('main#inhalt form[method="get" i]').first();
  await form.locator('[name="from"]').fill('2019');
  await form.locator('[name="to"]').fill('2020');
  await Promise.all([page.waitForURL((u) => u.searchParams.get('from') === '2019'), form.locator('[type="submit"]').first().click()]);
  await page.waitForLoadState('load');
  const url = new URL(page.url());
  const query = new URLSearchParams({ group_by: 'year' });
  for (const name of ['from', 'to', 'programme', 'kreis', 'basis', 'as_of']) {
    const value = url.searchParams.get(name);
    if (value) query.set(name, value);
  }
  if (!query.has('basis')) query.set('basis', 'notice');
  const view = { ...VIEWS[0], name: 'filter form', api: `/api/v1/reports/volumes?${query}` };
  const expected = view.expected(await api(view.api));
  const table = tableFor(await readTables(page, 'volumes'), expected);
  const problems = table ? compareTable(view, table, expected) : ['no <table data-report="volumes">'];
  check(4, problems.length === 0 && url.searchParams.get('to') === '2020',
    `filter form: from 2019, to 2020 submitted → ${url.pathname}${url.search} shows ${view.api}`, problems);
});

// 6. Keyboard.
await section(6, 'keyboard', async () => {
  const res = await visit(page, '/dashboard/');
  if (!check(6, res.status() === 200, `GET /dashboard/ answers ${res.status()} (want 200; the keyboard checks need the view)`)) return;
  await page.keyboard.press('Tab');
  const first = await focused(page);
  check(6, !!first?.skip && first.text === 'Zum Inhalt', `the first Tab focuses the skip link (${describe(first)})`);
  const seen = first ? [first] : [];
  const navPaths = new Set();
  let filterSubmit = false;
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (!f || f.skip) break; // through the page and back to the top
    seen.push(f);
    if (f.inNav && f.path) navPaths.add(f.path);
    if (f.filterSubmit) filterSubmit = true;
  }
  const missing = NAV.filter((p) => !navPaths.has(p));
  check(6, missing.length === 0, `Tab reaches every nav link (${[...navPaths].join(', ')})`, missing.map((p) => `never focused: ${p}`));
  check(6, filterSubmit, 'Tab reaches the filter form\'s submit button', seen.map(describe));
  const invisible = seen.filter((f) => !f.indicator || !f.onScreen);
  check(6, invisible.length === 0, `each of the ${seen.length} focused elements has a visible focus indicator on screen`,
    invisible.map((f) => `${describe(f)}: ${f.style}; ${f.pseudo}; at ${f.rect}${f.onScreen ? '' : ' (off screen)'}`));

  // The skip link leads into <main>.
  await visit(page, '/dashboard/');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  const afterSkip = await focused(page);
  check(6, new URL(page.url()).hash === '#inhalt' && !!afterSkip?.inMain,
    `Enter on the skip link, then Tab, focuses an element in <main> (${describe(afterSkip)})`);

  // Enter on the nav link "Regionen".
  await visit(page, '/dashboard/');
  let onRegionen = null;
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f?.inNav && f.text === 'Regionen') {
      onRegionen = f;
      break;
    }
  }
  if (!check(6, !!onRegionen, 'Tab reaches the nav link "Regionen"')) return;
  await Promise.all([page.waitForURL((u) => u.pathname === '/dashboard/regionen'), page.keyboard.press('Enter')]);
  check(6, pathOf(page.url()) === '/dashboard/regionen', `Enter on "Regionen" navigates to ${pathOf(page.url())}`);
});

// 5. axe-core on every view, the sign-in page and the applicant's 403 page. axe is injected as a
// script element, which a page's Content-Security-Policy may forbid: these contexts bypass CSP
// (the others keep it, and a CSP violation there is a console error of check 1).
await section(5, 'axe', async () => {
  const storageState = await ministry.storageState();
  const context = await newContext(browser, 'axe', { bypassCSP: true, storageState });
  const axePage = await context.newPage();
  for (const view of VIEWS) {
    const res = await visit(axePage, view.path);
    if (!check(5, res.status() === 200, `axe on ${view.name}: GET ${view.path} answers ${res.status()}${res.status() === 200 ? '' : ': the view itself was not checked'}`)) continue;
    const violations = await axeViolations(axePage);
    check(5, violations.length === 0, `axe (${AXE_TAGS.join(', ')}) on ${view.name}: ${violations.length} violations`, formatViolations(violations));
  }
  await context.close();
  const anonymous = await newContext(browser, 'axe-anonymous', { bypassCSP: true });
  const signInPage = await anonymous.newPage();
  await visit(signInPage, '/dashboard/anmelden');
  let violations = await axeViolations(signInPage);
  check(5, violations.length === 0, `axe on the sign-in page: ${violations.length} violations`, formatViolations(violations));
  await signIn(signInPage, APPLICANT_TOKEN);
  const forbidden = await visit(signInPage, '/dashboard/');
  if (!check(5, forbidden.status() === 403, `axe on the applicant's 403 page: GET /dashboard/ answers ${forbidden.status()}`)) return;
  violations = await axeViolations(signInPage);
  check(5, violations.length === 0, `axe on the applicant's 403 page: ${violations.length} violations`, formatViolations(violations));
  await anonymous.close();
});

// 7. Without JavaScript.
await section(7, 'without JavaScript', async () => {
  const context = await newContext(browser, 'no-js', { javaScriptEnabled: false });
  const p = await context.newPage();
  await visit(p, '/dashboard/anmelden');
  const { final } = await signIn(p, MINISTRY_TOKEN);
  check(7, final?.status() === 200 && pathOf(p.url()) === '/dashboard/', `signed in through the form without JavaScript (${final?.status()} ${pathOf(p.url())})`);
  for (const view of VIEWS) {
    const expected = view.expected(await api(view.api));
    const expectedRows = expected.rows.filter((r) => r.key !== 'total').length;
    const res = await visit(p, view.path);
    const shown = await p.evaluate((report) => ({
      rows: [...document.querySelectorAll(`table[data-report="${report}"] tr[data-key]`)].filter((r) => r.getAttribute('data-key') !== 'total').length,
      chart: !!document.querySelector('main figure svg[role="img"]'),
    }), view.report);
    check(7, res.status() === 200 && shown.rows > 0 && shown.rows === expectedRows && shown.chart,
      `${view.name} without JavaScript: ${res.status()}, ${shown.rows} table rows besides the totals (API ${expectedRows}), chart ${shown.chart ? 'shown' : 'missing'}`);
  }
  await context.close();
});

// 8. The applicant: 403 on every view, and on the CSV links.
await section(8, 'applicant', async () => {
  const context = await newContext(browser, 'applicant');
  const p = await context.newPage();
  await visit(p, '/dashboard/anmelden');
  const { post, final } = await signIn(p, APPLICANT_TOKEN);
  check(8, post.status() === 303, `the applicant signs in: POST /dashboard/session answers ${post.status()}, then ${final?.status()} on ${pathOf(p.url())}`);
  let shot = false;
  for (const view of VIEWS) {
    const res = await visit(p, view.path);
    const page403 = await p.evaluate(() => ({
      lang: document.documentElement.getAttribute('lang'),
      text: document.body ? document.body.innerText.replace(/\s+/g, ' ').trim().slice(0, 80) : '',
      rows: document.querySelectorAll('table[data-report] tr[data-key]').length,
    }));
    check(8, res.status() === 403 && page403.lang === 'de' && page403.text && page403.rows === 0,
      `applicant on ${view.path}: ${res.status()} (want 403), lang ${page403.lang}, ${page403.rows} report rows, "${page403.text}"`);
    if (!shot) {
      await screenshot(p, 'verboten');
      shot = true;
    }
  }
  for (const href of csvLinks) {
    const res = await context.request.get(href, { maxRedirects: 0 });
    check(8, res.status() === 403, `applicant on the CSV ${pathOf(href)}${new URL(href).search}: ${res.status()} (want 403)`);
  }
  await context.close();
});

// 9. The overview printed on A4.
await section(9, 'A4 print', async () => {
  const res = await visit(page, '/dashboard/');
  if (!check(9, res.status() === 200, `GET /dashboard/ answers ${res.status()} (want 200; the print check needs the overview)`)) return;
  const path = join(SCREENSHOT_DIR, 'ueberblick.pdf');
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ path, format: 'A4', printBackground: true });
  await page.emulateMedia({ media: 'screen' });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  check(9, pdf.subarray(0, 5).toString() === '%PDF-' && statSync(path).size > 1000, `page.pdf A4 of the overview: ${path}, ${pdf.length} bytes, ${pages} page(s)`);
});

// 2 (sign-out): "Abmelden" ends the session.
await section(2, 'sign-out', async () => {
  await visit(page, '/dashboard/haushalt');
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === '/dashboard/session/ende', { timeout: NAVIGATION_TIMEOUT }),
    page.getByRole('button', { name: 'Abmelden' }).click(),
  ]);
  await page.waitForLoadState('load');
  const location = post.headers()['location'];
  check(2, post.status() === 303 && location && pathOf(location) === '/dashboard/anmelden',
    `"Abmelden": POST /dashboard/session/ende answers ${post.status()} to ${location} (want 303 to /dashboard/anmelden)`);
  const cookies = await ministry.cookies(); // all of them: a cookie with Path=/dashboard does not match BASE_URL's /
  check(2, cookies.length === 0 && pathOf(page.url()) === '/dashboard/anmelden',
    `after "Abmelden": on ${pathOf(page.url())}, cookies left: ${cookies.map((c) => c.name).join(', ') || 'none'}`);
  const res = await visit(page, '/dashboard/');
  check(2, res.status() === 401, `after "Abmelden", /dashboard/ answers ${res.status()} (want 401)`);
});

// 9. The screenshots.
check(9, screenshots.length >= VIEWS.length + 1, `${screenshots.length} full-page screenshots in ${SCREENSHOT_DIR}:`);
for (const s of screenshots) console.log(`       ${s}`);

// 1. Every request went to the server, nothing else; nothing failed to load; no console errors.
{
  const foreign = requests.filter((r) => {
    if (/^(data|blob|about):/.test(r.url)) return false;
    return new URL(r.url).origin !== ORIGIN;
  });
  const origins = [...new Set(requests.map((r) => (/^(data|blob|about):/.test(r.url) ? r.url.split(':')[0] + ':' : new URL(r.url).origin)))];
  check(1, foreign.length === 0 && blocked.length === 0,
    `all ${requests.length} requests of the pages went to ${ORIGIN} (origins seen: ${origins.join(', ')})`,
    [...counted(foreign.map((r) => `${r.context}: ${r.url}`)), ...counted(blocked.map((b) => `blocked: ${b}`))]);
  check(1, failedLoads.length === 0, 'no stylesheet, image or other subresource failed to load', counted(failedLoads));
  check(1, consoleErrors.length === 0, 'no console errors, page errors or CSP violations', counted(consoleErrors));
}

await browser.close();
const failed = results.filter((r) => !r.ok);
console.log('');
if (failed.length) {
  console.log('failed checks:');
  for (const f of failed) console.log(`  [${f.id}] ${f.what}`);
}
console.log(`dashboard: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
