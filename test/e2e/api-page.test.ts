// The interactive API page in a real browser (Debian's chromium, driven over the DevTools protocol by
// playwright-core): the page renders, lists the operations of the listener's OpenAPI document (the v2
// routes too), loads nothing from another origin, and a "Try it out" call of /ping answers 200; its
// screenshot must not be blank. Skipped, saying why, where no chromium is installed (.ci/run installs it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inkShare, launchBrowser, noChromium as skip } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('API page in headless chromium', { skip }, () => {
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  let context: import('playwright-core').BrowserContext;

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    context = browser.context;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the operations, loads only from this server, and "Try it out" on /ping answers 200', async () => {
    const page = await context.newPage();
    const origin = new URL(server.inferenceUrl).origin;
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.inferenceUrl}/docs`);
    await page.locator('.opblock').first().waitFor();
    const paths = await page.locator('.opblock-summary-path').allTextContents();
    const listed = paths.map((p) => p.replace(/\u200b/g, '').trim());
    for (const p of ['/ping', '/predictions/{model_name}', '/v2/health/ready', '/v2/models/{model_name}/infer', '/docs']) {
      assert.ok(listed.includes(p), `operation ${p} not listed (${listed.join(', ')})`);
    }

    const ping = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path', { hasText: /^\/ping$/ }) });
    await ping.locator('.opblock-summary').click();
    await ping.getByRole('button', { name: 'Try it out' }).click();
    await ping.getByRole('button', { name: 'Execute' }).click();
    const status = ping.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    assert.equal((await status.textContent())?.trim(), '200');
    assert.match((await ping.locator('.live-responses-table').first().textContent()) ?? '', /"status": "Healthy"/);
    assert.deepEqual(foreign, [], 'requests to another origin');
    assert.deepEqual(errors, [], 'script errors on the page');
    await page.close();
  });

  it('renders a page that is not blank (screenshot), and the check tells a blank one', async () => {
    const page = await context.newPage();
    await page.goto(`${server.inferenceUrl}/docs`);
    await page.locator('.opblock').first().waitFor();
    const shot = await page.screenshot();
    const ink = await inkShare(shot);
    assert.ok(ink > 0.02, `the API page looks blank: ${(ink * 100).toFixed(2)}% of pixels differ from the background`);
    await page.goto('about:blank');
    assert.ok((await inkShare(await page.screenshot())) < 0.001, 'a blank page must read as blank');
    await page.close();
  });
});
