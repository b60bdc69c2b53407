/**
 * The status page end to end: the real server on 127.0.0.1, a key created and fetched over KMIP, a
 * vCenter usage report published through the management API, and the page loaded in headless
 * Chromium (Debian's, through playwright-core). It renders what the operator on call needs, shows
 * hostile names as text, runs nothing, and without credentials shows nothing at all. One browser for
 * the file. The screenshot it saves (.cache/screenshots/status-page.png) is the README's picture.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr, nameAttr } from '../support/attributes.js';
import { chromiumSkipReason, launchChromium } from '../support/browser.js';
import { noteOutput } from '../support/secrets-ledger.js';
import { startTestServer, type TestServer } from '../support/server.js';

const skip = chromiumSkipReason();
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
const SCREENSHOT = join(process.cwd(), '.cache', 'screenshots', 'status-page.png');
const DAY = 86_400_000;
/** Runs in the page (the test's TypeScript has no DOM types). */
const background = (element: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(element).backgroundColor;

describe.skipIf(skip)('the status page in headless Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let token: string;
  let fetchedKey: string;
  let namedKey: string;
  let url: string;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
    token = readFileSync(server.tokenFile, 'utf8').trim();
    url = `http://127.0.0.1:${server.adminPort}/status`;
    const { id: tenantId, cert } = await server.tenant('vc-prod-status');
    await server.pin(tenantId, server.pki.client('vcenter-expiring', { notAfter: new Date(Date.now() + 10 * DAY) }));
    await server.pin(tenantId, server.pki.client('vcenter-expired', { notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - 2 * DAY) }));
    const client = await server.connect(cert);
    const create = (name: string) =>
      client.ok(Operation.Create, { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), nameAttr(name)] } });
    fetchedKey = (await create('vm-disk-key'))['uniqueIdentifier'] as string;
    namedKey = (await create(HOSTILE))['uniqueIdentifier'] as string;
    await client.ok(Operation.Activate, { uniqueIdentifier: fetchedKey });
    await client.ok(Operation.Get, { uniqueIdentifier: fetchedKey });
    // A Get's time reaches the store within the touch flush interval (1 s).
    for (let i = 0; i < 50; i++) {
      const keys = (await server.api('GET', '/v1/keys')).json.keys as Array<{ id: string; lastGet: string | null }>;
      if (keys.find((k) => k.id === fetchedKey)?.lastGet) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const published = await server.api('POST', '/v1/vcenter-usage', {
      source: 'kmipctl vcenter usage',
      readAt: new Date().toISOString(),
      provider: 'kmip-prod-us-south',
      vcenter: 'vcenter.example (VI/JSON, 8.0.2)',
      registered: true,
      isDefault: true,
      inUse: true,
      users: [
        { id: 'vm-101', name: 'db-01', kind: 'vm', detail: `key ${fetchedKey}`, keyId: fetchedKey },
        { id: 'vm-666', name: HOSTILE, kind: 'vm', detail: 'key not-ours', keyId: 'not-ours' },
        { id: 'host-9', name: 'esx-09', kind: 'host', detail: `host key ${namedKey}`, keyId: namedKey },
      ],
      unknownProvider: [],
      unreadable: [],
      counts: { vms: 2, hosts: 1, clusters: 0, scanned: 40 },
    });
    expect(published.status, JSON.stringify(published.json)).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders node health, dependencies, tenant, certificates by expiry, keys and vCenter usage, every value as text', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${token}` }, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const pageConsole: string[] = [];
    page.on('console', (m) => pageConsole.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => pageConsole.push(`pageerror: ${e.message}`));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    try {
      const response = await page.goto(url);
      noteOutput('status page', await page.content());
      expect(response!.status()).toBe(200);
      const headers = response!.headers();
      expect(headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'none'/);
      expect(headers['cache-control']).toBe('no-store');
      expect(headers['content-type']).toBe('text/html; charset=utf-8');

      const text = await page.locator('main').innerText();
      expect(text).toMatch(/alive\s+ready/);
      expect(text).toMatch(/database\s+sqlite\s+ok/);
      expect(text).toMatch(/root key\s+local\s+ok/);
      expect(text).toContain('vc-prod-status');
      expect(text).toContain(fetchedKey);
      expect(text).toContain('vm-disk-key');
      // The hostile name is on the page at least twice as text (a key's KMIP Name, a VM name): never markup.
      expect(text.split(HOSTILE).length - 1).toBeGreaterThanOrEqual(2);
      expect(await page.locator('script').count()).toBe(0);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

      // Keys fetched recently: the fetched key, not the other one.
      const fetched = page.locator('#keys table').first();
      expect(await fetched.innerText()).toContain(fetchedKey);
      expect(await fetched.innerText()).not.toContain(namedKey);

      // Expiry highlighted, with the page's own stylesheet (allowed by its hash) applied.
      const expired = page.locator('#certificates tr.expired');
      const soon = page.locator('#certificates tr.soon');
      expect(await expired.innerText()).toMatch(/vcenter-expired[\s\S]*EXPIRED 2 days ago/);
      expect(await soon.innerText()).toMatch(/vcenter-expiring[\s\S]*expires in (9|10) day\(s\)/);
      expect(await expired.locator('td').first().evaluate(background)).toBe('rgb(255, 235, 233)');
      expect(await soon.locator('td').first().evaluate(background)).toBe('rgb(255, 248, 197)');

      // Which VM uses which key, and whether the key is this server's.
      const usage = await page.locator('#vcenter').innerText();
      expect(usage).toMatch(/As published by kmipctl at .* on this node/);
      expect(usage).toMatch(new RegExp(`db-01\\s+vm-101\\s+${fetchedKey}\\s+on this server: tenant vc-prod-status, Active`));
      expect(usage).toMatch(/not-ours\s+not a key of this server/);
      expect(usage).toMatch(new RegExp(`esx-09\\s+host-9\\s+${namedKey}\\s+on this server: tenant vc-prod-status, PreActive`));

      expect(pageConsole.filter((l) => /Content.Security.Policy|pageerror|error/i.test(l))).toEqual([]);
      expect(requests).toEqual([url]);
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('without credentials, with a wrong token or with a token in the URL, answers with no data', async () => {
    for (const [how, headers, at, status] of [
      ['no credentials', {}, url, 401],
      ['a wrong token', { authorization: 'Bearer not-the-token' }, url, 401],
      ['the token in the URL', {}, `${url}?token=${token}`, 400],
    ] as const) {
      const context = await browser.newContext({ extraHTTPHeaders: headers });
      const page = await context.newPage();
      try {
        const response = await page.goto(at);
        noteOutput(`status page (${how})`, await page.content());
        expect(response!.status(), how).toBe(status);
        expect(response!.headers()['cache-control'], how).toBe('no-store');
        const body = await page.content();
        for (const secret of ['vc-prod-status', fetchedKey, namedKey, 'db-01', 'sqlite', 'kmip-prod-us-south', token]) expect(body, `${how}: ${secret}`).not.toContain(secret);
        expect(await page.locator('h1').innerText(), how).toMatch(status === 401 ? /Not authorized/ : /Credential in the URL/);
      } finally {
        await context.close();
      }
    }
  });
});
