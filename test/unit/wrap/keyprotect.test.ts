/** The production Key Protect client against a local fake that follows the documented contract. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WrapErrorCode } from '../../../server/wrap/errors.js';
import { KeyProtectWrapper, keyProtectBaseUrl, type KeyProtectCall, type KeyProtectOptions } from '../../../server/wrap/keyprotect.js';
import { FakeKeyProtect } from '../../support/fake-keyprotect.js';

const API_KEY = 'kp-test-api-key-5f0e2c1a9b7d';
const secret = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef'));

let fake: FakeKeyProtect;
let instanceId: string;
let rootKeyId: string;
let clock: number;
const wrappers: KeyProtectWrapper[] = [];

beforeEach(async () => {
  fake = await new FakeKeyProtect().start();
  clock = Date.now();
  fake.now = () => clock;
  fake.addApiKey(API_KEY);
  instanceId = fake.addInstance();
  rootKeyId = fake.createRootKey(instanceId);
});
afterEach(async () => {
  await Promise.all(wrappers.splice(0).map((w) => w.close()));
  await fake.stop();
});

function client(overrides: Partial<KeyProtectOptions> = {}, calls: KeyProtectCall[] = []): KeyProtectWrapper {
  const w = new KeyProtectWrapper({
    region: 'us-south',
    instanceId,
    rootKeyId,
    endpoint: fake.url,
    iamEndpoint: fake.url,
    apiKey: API_KEY,
    cacheSeconds: 0,
    requestTimeoutMs: 2000,
    maxAttempts: 4,
    now: () => clock,
    onCall: (c) => calls.push(c),
    ...overrides,
  });
  wrappers.push(w);
  return w;
}

const kpRequests = () => fake.requests.filter((r) => r.path.startsWith('/api/v2/'));

describe('Key Protect client', () => {
  it('maps regions to public and private endpoints', () => {
    expect(keyProtectBaseUrl('us-south', 'private')).toBe('https://private.us-south.kms.cloud.ibm.com');
    expect(keyProtectBaseUrl('eu-de', 'public')).toBe('https://eu-de.kms.cloud.ibm.com');
    expect(keyProtectBaseUrl('eu-de', 'https://abc.api.eu-de.hs-crypto.appdomain.cloud/')).toBe('https://abc.api.eu-de.hs-crypto.appdomain.cloud');
  });

  it('wraps and unwraps with the object id as AAD, sending the documented headers and a correlation-id per call', async () => {
    const calls: KeyProtectCall[] = [];
    const kp = client({}, calls);
    const wrapped = await kp.wrap(secret, 'object-1');
    expect(wrapped).toMatchObject({ wrapKind: 'keyprotect', rootKeyId, rootKeyVersion: fake.currentVersion(rootKeyId) });
    expect((await kp.unwrap(wrapped, 'object-1')).plaintext).toEqual(secret);
    await expect(kp.unwrap(wrapped, 'object-2')).rejects.toMatchObject({ code: WrapErrorCode.Rejected });
    const [wrapReq, unwrapReq] = kpRequests();
    expect(wrapReq!.path).toBe(`/api/v2/keys/${rootKeyId}/actions/wrap`);
    expect(wrapReq!.headers['content-type']).toBe('application/vnd.ibm.kms.key_action_wrap+json');
    expect(unwrapReq!.headers['content-type']).toBe('application/vnd.ibm.kms.key_action_unwrap+json');
    expect(wrapReq!.headers['bluemix-instance']).toBe(instanceId);
    expect(String(wrapReq!.headers['authorization'])).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(JSON.parse(wrapReq!.body)).toEqual({ plaintext: Buffer.from(secret).toString('base64'), aad: ['object-1'] });
    const ids = kpRequests().map((r) => r.headers['correlation-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(calls.map((c) => c.correlationId)).toEqual(ids);
  });

  it('fetches one token, reuses it, refreshes after 80% of its life, and never runs two refreshes at once', async () => {
    const kp = client();
    await Promise.all(Array.from({ length: 20 }, (_, i) => kp.wrap(secret, `o${i}`)));
    expect(fake.calls.token).toBe(1);
    clock += 2_900_000; // past 80% of the hour: refreshed in the background, the old token still serves
    await kp.wrap(secret, 'x');
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.calls.token).toBe(2);
    clock += 3_600_000; // expired: everyone waits for the same refresh
    await Promise.all(Array.from({ length: 20 }, (_, i) => kp.wrap(secret, `y${i}`)));
    expect(fake.calls.token).toBe(3);
  });

  it('one caller giving up does not fail the others waiting for the same token', async () => {
    fake.latencyMs = 300;
    const kp = client();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = (p: Promise<unknown>) => p.then(() => 'wrapped', (e: { code: string }) => e.code);
    const [abandoned, patient] = await Promise.all([outcome(kp.wrap(secret, 'a', controller.signal)), outcome(kp.wrap(secret, 'b'))]);
    expect(abandoned).toBe(WrapErrorCode.Timeout);
    expect(patient).toBe('wrapped');
    expect(fake.calls.token).toBe(1);
  });

  it('answers a 401 with one fresh token and one retry (token expired under it)', async () => {
    const kp = client();
    await kp.wrap(secret, 'a');
    fake.expireTokens();
    await kp.wrap(secret, 'b');
    expect(fake.calls.token).toBe(2);
    expect(kpRequests().map((r) => r.status)).toEqual([200, 401, 200]);
  });

  it('reports a revoked API key (IAM 400 BXNIM0415E) as an access failure, without retrying it', async () => {
    fake.revokeApiKey(API_KEY);
    const kp = client();
    const err = await kp.wrap(secret, 'a').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: WrapErrorCode.Auth });
    expect(String((err as Error).message)).toMatch(/BXNIM0415E/);
    expect(fake.requests.filter((r) => r.path === '/identity/token')).toHaveLength(1);
  });

  it('retries 429, 5xx and dropped connections with backoff, and only those', async () => {
    for (const kind of [429, 500, 503, 'reset'] as const) {
      fake.fault = { kind, remaining: 2, kpOnly: true };
      const kp = client();
      await expect(kp.wrap(secret, 'a')).resolves.toBeDefined();
    }
    for (const [kind, code] of [
      [501, WrapErrorCode.Unavailable],
      [400, WrapErrorCode.Rejected],
    ] as const) {
      fake.requests.length = 0;
      fake.fault = { kind, remaining: 5, kpOnly: true };
      await expect(client().wrap(secret, 'a')).rejects.toMatchObject({ code });
      expect(kpRequests()).toHaveLength(1);
    }
    fake.requests.length = 0;
    fake.fault = { kind: 503, remaining: Infinity, kpOnly: true };
    await expect(client({ maxAttempts: 3 }).wrap(secret, 'a')).rejects.toMatchObject({ code: WrapErrorCode.Unavailable });
    expect(kpRequests()).toHaveLength(3);
  });

  it('maps a disabled, deleted or purged root key, and a standard key, to root-key errors', async () => {
    const kp = client();
    const wrapped = await kp.wrap(secret, 'a');
    fake.setState(rootKeyId, 2);
    await expect(kp.unwrap(wrapped, 'a')).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable, details: { status: 409 } });
    await expect(kp.check()).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable });
    fake.setState(rootKeyId, 5);
    await expect(kp.unwrap(wrapped, 'a')).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable, details: { status: 410 } });
    fake.purge(rootKeyId);
    await expect(kp.unwrap(wrapped, 'a')).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable, details: { status: 404 } });
    const standard = client({ rootKeyId: fake.createStandardKey(instanceId) });
    await expect(standard.wrap(secret, 'a')).rejects.toMatchObject({ code: WrapErrorCode.Config });
  });

  it('after a rotation, unwrap hands back the rewrapped ciphertext and rewrap moves to the newest version', async () => {
    const kp = client();
    const old = await kp.wrap(secret, 'a');
    const newest = fake.rotate(rootKeyId);
    const result = await kp.unwrap(old, 'a');
    expect(result.plaintext).toEqual(secret);
    expect(result.rewrapped?.rootKeyVersion).toBe(newest);
    expect((await kp.unwrap(result.rewrapped!, 'a')).plaintext).toEqual(secret);
    const rewrapped = await kp.rewrap(old, 'a');
    expect(rewrapped.rootKeyVersion).toBe(newest);
    expect(await kp.rewrap(rewrapped, 'a')).toBe(rewrapped);
    await kp.check();
  });

  it('caches unwrapped material for the configured time: after the root key is disabled, nothing is released once that time passed', async () => {
    const kp = client({ cacheSeconds: 60 });
    const wrapped = await kp.wrap(secret, 'a');
    await kp.unwrap(wrapped, 'a');
    await kp.unwrap(wrapped, 'a');
    expect(fake.calls.unwrap).toBe(1);
    fake.setState(rootKeyId, 2);
    clock += 59_000;
    expect((await kp.unwrap(wrapped, 'a')).plaintext).toEqual(secret);
    clock += 2_000;
    await expect(kp.unwrap(wrapped, 'a')).rejects.toMatchObject({ code: WrapErrorCode.RootKeyUnusable });
    fake.setState(rootKeyId, 1);
    expect((await kp.unwrap(wrapped, 'a')).plaintext).toEqual(secret);
    const uncached = client({ cacheSeconds: 0 });
    await uncached.unwrap(wrapped, 'a');
    await uncached.unwrap(wrapped, 'a');
    expect(fake.calls.unwrap).toBe(4);
  });

  it('runs concurrent calls in parallel over pooled connections, not one after another', async () => {
    fake.latencyMs = 100;
    const kp = client();
    await kp.wrap(secret, 'warm');
    const started = Date.now();
    await Promise.all(Array.from({ length: 32 }, (_, i) => kp.wrap(secret, `p${i}`)));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('gives up at the request deadline and when the KMIP request is abandoned', async () => {
    fake.latencyMs = 400;
    const kp = client({ requestTimeoutMs: 200, maxAttempts: 2 });
    const started = Date.now();
    await expect(kp.wrap(secret, 'a')).rejects.toMatchObject({ code: expect.stringMatching(/WRAP_ERR_(TIMEOUT|UNAVAILABLE)/) });
    expect(Date.now() - started).toBeLessThan(1500);
    fake.latencyMs = 300;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const abandoned = await client({ requestTimeoutMs: 5000 }).wrap(secret, 'b', controller.signal).then(() => 'resolved', (e: { code: string }) => e.code);
    expect(abandoned).toBe(WrapErrorCode.Timeout);
  });

  it('keeps the API key and tokens out of every error it raises', async () => {
    const errors: Array<[string, unknown]> = [];
    const kp = client({ maxAttempts: 1 });
    await kp.wrap(secret, 'a');
    fake.setState(rootKeyId, 2);
    errors.push([WrapErrorCode.RootKeyUnusable, await kp.wrap(secret, 'b').catch((e: unknown) => e)]);
    fake.setState(rootKeyId, 1);
    fake.revokeApiKey(API_KEY);
    fake.expireTokens();
    errors.push([WrapErrorCode.Auth, await client({ maxAttempts: 1 }).wrap(secret, 'c').catch((e: unknown) => e)]);
    // A dropped Key Protect call that carried a bearer token: the client holds a token first.
    fake.addApiKey(API_KEY);
    const warm = client({ maxAttempts: 1 });
    await warm.wrap(secret, 'd');
    fake.fault = { kind: 'reset', remaining: 1, kpOnly: true };
    errors.push([WrapErrorCode.Unavailable, await warm.wrap(secret, 'e').catch((e: unknown) => e)]);
    const tokens = [...new Set(kpRequests().map((r) => String(r.headers['authorization']).slice(7)))];
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (const [code, e] of errors) {
      expect(e, code).toBeInstanceOf(Error);
      expect((e as { code?: string }).code).toBe(code);
      const text = `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack ?? ''} ${JSON.stringify((e as { details?: unknown }).details)}`;
      expect(text).not.toContain(API_KEY);
      for (const token of tokens) expect(text).not.toContain(token);
    }
  });
});
