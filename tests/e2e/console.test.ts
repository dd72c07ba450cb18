/** The experimenter's console in a real browser (Debian chromium, headless, via playwright-core)
 * against a real stack: what the pages show, that the traffic editor writes the registry's policy
 * with If-Match, that a concurrent change is shown with who made it, and that writes without the
 * admin token are refused with a message. Writes a screenshot of every page (docs/console/ holds
 * the committed ones; copy them from CONSOLE_SCREENSHOTS after a run). */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT } from '../helpers/processes';
import {
  ADMIN_TOKEN,
  type ConsoleStack,
  launchChromium,
  startConsoleStack,
  until,
} from './support/console-stack';

const SHOTS = process.env.CONSOLE_SCREENSHOTS ?? path.join(ROOT, 'test-results', 'console');
const sample = (model: string) =>
  JSON.parse(readFileSync(path.join(ROOT, 'models', model, 'sample.json'), 'utf8')) as number[][];

let stack: ConsoleStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const cspViolations: string[] = [];

async function policy(model: string) {
  const res = await fetch(`${stack.registry.url}/models/${model}/policy`);
  return {
    body: (await res.json()) as { variants: { version: string; weight: number }[]; revision: number },
    etag: res.headers.get('etag')!,
  };
}

async function putPolicy(model: string, variants: { version: string; weight: number }[]) {
  const current = await policy(model);
  const res = await fetch(`${stack.registry.url}/models/${model}/policy`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'if-match': current.etag,
    },
    body: JSON.stringify({ ...current.body, revision: undefined, variants }),
  });
  if (res.status !== 200) throw new Error(`PUT policy: ${res.status} ${await res.text()}`);
}

const open = async (hash: string) => {
  await page.goto(`${stack.registry.url}/console/${hash}`);
};
const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

async function enterToken() {
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByText('Admin token set for this tab').waitFor();
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startConsoleStack();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  // Every live instance heartbeated, so the Models page has something to show for each version.
  await until('every model-server registered', async () => {
    const routes = (await (await fetch(`${stack.registry.url}/routes`)).json()) as {
      models: Record<string, { versions: Record<string, { instances: string[] }> }>;
    };
    const live = Object.values(routes.models).flatMap((m) =>
      Object.values(m.versions).map((v) => v.instances.length),
    );
    return live.length === Object.keys(stack.servers).length && live.every((n) => n > 0) ? true : undefined;
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
  expect(cspViolations).toEqual([]);
});

describe('the console', () => {
  it('is served under a strict Content-Security-Policy with no inline code', async () => {
    const res = await fetch(`${stack.registry.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)|<style|style=/);
  });

  it('lists both shipped models with their versions, labels, weights and live instances', async () => {
    await open('#/models');
    for (const model of ['digits', 'penguins'])
      await page.getByRole('heading', { name: new RegExp(`^${model}\\b`) }).waitFor();
    const digits = page.getByRole('region', { name: /^digits/ });
    await digits.getByRole('rowheader', { name: 'v1' }).waitFor();
    await digits.getByRole('rowheader', { name: 'v2' }).waitFor();
    await expect(digits.getByText('stable').count()).resolves.toBeGreaterThan(0);
    await expect(digits.getByText(/heartbeat .* ago|heartbeat just now/).count()).resolves.toBe(2);
    await expect(digits.getByText('90 %', { exact: true }).count()).resolves.toBe(1);
    await shot('models');
  });

  it('refuses a write without the admin token, with a message, and leaves the policy as it was', async () => {
    const before = await policy('digits');
    await open('#/traffic/digits');
    await page.getByLabel('Weight of v1 (%)').fill('80');
    await page.getByRole('button', { name: 'Review change…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Apply change' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Refused' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/no admin token entered.*Enter the admin token/);
    expect((await policy('digits')).body.revision).toBe(before.body.revision);
  });

  it('sets digits to 50/50 in the editor after confirming before and after, and the registry policy changes', async () => {
    await open('#/traffic/digits');
    await enterToken();
    const v1 = page.getByLabel('Weight of v1 (%)');
    await v1.fill('50');
    // The editor keeps the total at 100: v2 takes what v1 gave up.
    await expect(page.getByLabel('Weight of v2 (%)').inputValue()).resolves.toBe('50');
    await page.getByRole('button', { name: 'Review change…' }).click();
    const dialog = page.getByRole('dialog');
    const v1Row = dialog.getByRole('row', { name: /weight of v1/ });
    expect(await v1Row.textContent()).toMatch(/90 %.*50 %/);
    expect(await dialog.getByRole('row', { name: /weight of v2/ }).textContent()).toMatch(/10 %.*50 %/);
    await shot('traffic-confirm');
    await dialog.getByRole('button', { name: 'Apply change' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const after = await policy('digits');
    expect(after.body.variants).toEqual([
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ]);
    await shot('traffic');
  });

  it('shows who changed the policy when it changed since the page loaded, and reloads it on request', async () => {
    await open('#/traffic/digits');
    await page.getByLabel('Weight of v1 (%)').waitFor();
    // Someone else writes first (through the API, as the CLI would).
    await putPolicy('digits', [
      { version: '1', weight: 60 },
      { version: '2', weight: 40 },
    ]);
    await page.getByLabel('Weight of v1 (%)').fill('70');
    await page.getByRole('button', { name: 'Review change…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Apply change' }).click();
    const conflict = page.getByRole('alert').filter({ hasText: 'changed since you loaded it' });
    await conflict.waitFor();
    const text = (await conflict.textContent()) ?? '';
    expect(text).toMatch(/Changed by admin at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(text).toContain('weight of v1 50 % → 60 %');
    await shot('traffic-conflict');
    expect((await policy('digits')).body.variants[0]).toEqual({ version: '1', weight: 60 });
    await conflict.getByRole('button', { name: 'Reload the current policy' }).click();
    await until('the editor to show the reloaded policy', async () =>
      (await page.getByLabel('Weight of v1 (%)').inputValue()) === '60' ? true : undefined,
    );
  });

  it('shows drift per feature and version, coloured by threshold, once the model-servers have a window', async () => {
    const rows = sample('digits');
    // v1 sees training-like digits; v2 the same digits moved 5 pixels right, which its monitor must flag.
    const shifted = rows.map((row) => row.map((_, i) => (i % 28 >= 5 ? row[i - 5]! : 0)));
    for (const [version, instances] of [
      ['1', rows],
      ['2', shifted],
    ] as const) {
      const res = await fetch(`${stack.gateway.url}/predict/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-model-version': version },
        body: JSON.stringify({ model: 'digits', instances }),
      });
      expect(res.status).toBe(200);
    }
    await open('#/drift/digits');
    const v1 = page.getByRole('region', { name: 'v1' });
    const v2 = page.getByRole('region', { name: 'v2' });
    await v1.getByRole('rowheader', { name: 'mean_intensity' }).waitFor({ timeout: 20_000 });
    await v2.getByRole('rowheader', { name: 'center_of_mass_x' }).waitFor({ timeout: 20_000 });
    expect(await v1.getByText(/window of 300 rows/).count()).toBe(1);
    const v1Row = await v1.getByRole('row', { name: /center_of_mass_x/ }).textContent();
    expect(v1Row).toMatch(
      /^center_of_mass_x\d\.\d{3} \((stable|moderate shift)\)\d\.\d{3} \((stable|moderate shift)\)/,
    );
    const v2Row = await v2.getByRole('row', { name: /center_of_mass_x/ }).textContent();
    expect(v2Row).toMatch(/^center_of_mass_x\d+\.\d{3} \(significant shift\)\d\.\d{3} \(significant shift\)/);
    expect(await v2.locator('.level-significant').count()).toBeGreaterThanOrEqual(2);
    await shot('drift');
  });

  it('shows every change in the audit timeline with who made it', async () => {
    await open('#/audit/digits');
    const items = page.getByRole('list', { name: /Changes to digits/ }).getByRole('listitem');
    await items.first().waitFor();
    expect(await items.count()).toBeGreaterThanOrEqual(2);
    expect(await items.first().textContent()).toMatch(/policy\.update by admin.*weight of v1: 50 % → 60 %/);
    await shot('audit');
  });

  it('is readable on a phone: the traffic editor fits a 390 px screen without sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const p = await phone.newPage();
    await p.goto(`${stack.registry.url}/console/#/traffic/penguins`);
    await p.getByLabel('Weight of v1 (%)').waitFor();
    // Evaluated in the page, written as a string since the test's own types have no DOM.
    const overflow = await p.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await p.screenshot({ path: path.join(SHOTS, 'traffic-phone.png'), fullPage: true });
    await phone.close();
  });
});
