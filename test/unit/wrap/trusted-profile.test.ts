/**
 * The production Key Protect client authenticating as the VPC instance's trusted profile, through the
 * instance metadata service: the local fakes follow the documented contracts, and the IAM tokens the
 * metadata fake issues are the fake Key Protect's own.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WrapErrorCode } from '../../../server/wrap/errors.js';
import { KeyProtectWrapper, type KeyProtectOptions } from '../../../server/wrap/keyprotect.js';
import { FakeKeyProtect } from '../../support/fake-keyprotect.js';
import { FakeMetadataService } from '../../support/fake-metadata-service.js';

const secret = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef'));

let kp: FakeKeyProtect;
let imds: FakeMetadataService;
let instanceId: string;
let rootKeyId: string;
let profileId: string;
let clock: number;
const wrappers: KeyProtectWrapper[] = [];

beforeEach(async () => {
  kp = await new FakeKeyProtect().start();
  imds = await new FakeMetadataService(kp).start();
  clock = Date.now();
  kp.now = () => clock;
  imds.now = () => clock;
  instanceId = kp.addInstance();
  rootKeyId = kp.createRootKey(instanceId);
  profileId = imds.linkProfile();
});
afterEach(async () => {
  await Promise.all(wrappers.splice(0).map((w) => w.close()));
  await imds.stop();
  await kp.stop();
});

function client(overrides: Partial<KeyProtectOptions> = {}, profile = profileId): KeyProtectWrapper {
  const w = new KeyProtectWrapper({
    region: 'us-south',
    instanceId,
    rootKeyId,
    endpoint: kp.url,
    auth: { kind: 'trustedProfile', profileId: profile, metadataEndpoint: imds.url },
    cacheSeconds: 0,
    requestTimeoutMs: 2000,
    maxAttempts: 4,
    now: () => clock,
    ...overrides,
  });
  wrappers.push(w);
  return w;
}

const kpRequests = () => kp.requests.filter((r) => r.path.startsWith('/api/v2/'));
const errorText = (e: unknown) => `${String(e)} ${JSON.stringify(e)} ${(e as Error).stack ?? ''} ${JSON.stringify((e as { details?: unknown }).details)}`;

describe('Key Protect with a trusted profile (VPC instance metadata service)', () => {
  it('gets an instance identity token, exchanges it for the profile IAM token, and wraps and unwraps with it', async () => {
    const w = client();
    const wrapped = await w.wrap(secret, 'object-1');
    expect(wrapped).toMatchObject({ wrapKind: 'keyprotect', rootKeyId, rootKeyVersion: kp.currentVersion(rootKeyId) });
    expect((await w.unwrap(wrapped, 'object-1')).plaintext).toEqual(secret);

    const [put, post] = imds.requests;
    expect(put).toMatchObject({ method: 'PUT', path: '/instance_identity/v1/token', query: { version: '2022-03-01' }, status: 200 });
    expect(put!.headers['metadata-flavor']).toBe('ibm');
    expect(JSON.parse(put!.body)).toEqual({ expires_in: 300 });
    expect(post).toMatchObject({ method: 'POST', path: '/instance_identity/v1/iam_token', query: { version: '2022-03-01' }, status: 200 });
    expect(post!.headers['authorization']).toBe(`Bearer ${imds.issued[0]}`);
    expect(JSON.parse(post!.body)).toEqual({ trusted_profile: { id: profileId } });
    // Key Protect sees the profile's IAM token, never the instance identity token; no API key exchange at all.
    for (const r of kpRequests()) expect(r.headers['authorization']).toBe(`Bearer ${imds.issued[1]}`);
    expect(kp.calls.token).toBe(0);
    expect(imds.calls).toEqual({ identityToken: 1, iamToken: 1 });
  });

  it('fetches one token, reuses it, refreshes after 80% of its life, and never runs two refreshes at once', async () => {
    const w = client();
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.wrap(secret, `o${i}`)));
    expect(imds.calls).toEqual({ identityToken: 1, iamToken: 1 });
    clock += 2_900_000; // past 80% of the hour: refreshed in the background, the old token still serves
    await w.wrap(secret, 'x');
    // the background refresh: two round trips on a busy machine, waited for instead of slept through
    await vi.waitFor(() => expect(imds.calls).toEqual({ identityToken: 2, iamToken: 2 }), { timeout: 10_000, interval: 10 });
    clock += 3_600_000; // expired: everyone waits for the same refresh
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.wrap(secret, `y${i}`)));
    expect(imds.calls).toEqual({ identityToken: 3, iamToken: 3 });
  });

  it('one caller giving up does not fail the others waiting for the same token', async () => {
    imds.latencyMs = 300;
    const w = client();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = (p: Promise<unknown>) => p.then(() => 'wrapped', (e: { code: string }) => e.code);
    const [abandoned, patient] = await Promise.all([outcome(w.wrap(secret, 'a', controller.signal)), outcome(w.wrap(secret, 'b'))]);
    expect(abandoned).toBe(WrapErrorCode.Timeout);
    expect(patient).toBe('wrapped');
    expect(imds.calls.iamToken).toBe(1);
  });

  it('answers a 401 from Key Protect with one fresh token from the metadata service and one retry', async () => {
    const w = client();
    await w.wrap(secret, 'a');
    kp.expireTokens();
    await w.wrap(secret, 'b');
    expect(imds.calls).toEqual({ identityToken: 2, iamToken: 2 });
    expect(kpRequests().map((r) => r.status)).toEqual([200, 401, 200]);
  });

  it('a profile not linked to the instance: an access failure naming the profile, not retried, without any token in it', async () => {
    const wrong = 'Profile-00000000-1111-4222-8333-444444444444';
    const err = await client({}, wrong)
      .wrap(secret, 'a')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: WrapErrorCode.Auth, details: { status: 400, retryable: false } });
    expect((err as Error).message).toMatch(/^WRAP_ERR_AUTH: trusted profile Profile-00000000-1111-4222-8333-444444444444 is not linked to this virtual server instance \(400 profile_not_linked, trace [\w-]+\)$/);
    expect(imds.requests.filter((r) => r.path.endsWith('/iam_token'))).toHaveLength(1);
    expect(imds.issued).toHaveLength(1); // the identity token it did get
    for (const token of imds.issued) expect(errorText(err)).not.toContain(token);
    expect(kpRequests()).toHaveLength(0);
  });

  it('a metadata service that is down: an Unavailable failure after the retries, naming the service; it heals by itself', async () => {
    await imds.stop();
    const w = client({ maxAttempts: 3 });
    const started = Date.now();
    const err = await w.wrap(secret, 'a').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: WrapErrorCode.Unavailable, details: { retryable: true } });
    expect((err as Error).message).toContain(`instance metadata service at ${imds.url}: request failed (ECONNREFUSED)`);
    // bounded: the retries of one call, nothing more (each refused connection is one attempt)
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect(w.check()).rejects.toMatchObject({ code: WrapErrorCode.Unavailable });
    await imds.start();
    await expect(w.wrap(secret, 'b')).resolves.toBeDefined();
    await w.check();
  });

  it('retries 429, 5xx and dropped connections of either call with backoff, and only those', async () => {
    for (const [kind, only] of [
      [429, 'token'],
      [503, 'iam_token'],
      ['reset', 'token'],
      ['reset', 'iam_token'],
      [500, undefined],
    ] as const) {
      imds.fault = { kind, remaining: 2, ...(only ? { only } : {}) };
      await expect(client().wrap(secret, 'a'), `${kind} ${only}`).resolves.toBeDefined();
    }
    imds.requests.length = 0;
    imds.fault = { kind: 501, remaining: 5 };
    await expect(client().wrap(secret, 'a')).rejects.toMatchObject({ code: WrapErrorCode.Unavailable, details: { status: 501, retryable: false } });
    expect(imds.requests).toHaveLength(1);
    imds.requests.length = 0;
    imds.fault = { kind: 503, remaining: Infinity, only: 'iam_token' };
    await expect(client({ maxAttempts: 3 }).wrap(secret, 'a')).rejects.toMatchObject({ code: WrapErrorCode.Unavailable, details: { status: 503 } });
    expect(imds.requests.map((r) => r.path)).toEqual(['/instance_identity/v1/token', ...Array(3).fill('/instance_identity/v1/iam_token')]);
  });

  it('a disabled metadata service (403 unauthorized) is an access failure', async () => {
    imds.enabled = false;
    const err = await client().wrap(secret, 'a').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: WrapErrorCode.Auth, details: { status: 403 } });
    expect((err as Error).message).toMatch(/refused an instance identity token \(403 unauthorized, trace [\w-]+\)/);
  });

  it('keeps every token out of every error it raises', async () => {
    const errors: unknown[] = [];
    const warm = client({ maxAttempts: 1 });
    await warm.wrap(secret, 'a');
    // Key Protect drops a call that carried the profile's token.
    kp.fault = { kind: 'reset', remaining: 1, kpOnly: true };
    errors.push(await warm.wrap(secret, 'b').catch((e: unknown) => e));
    // The identity token is refused at the exchange (it lapsed under the client).
    imds.fault = { kind: 401, remaining: 1, only: 'iam_token' };
    errors.push(await client({ maxAttempts: 1 }).wrap(secret, 'c').catch((e: unknown) => e));
    errors.push(await client({ maxAttempts: 1 }, 'Profile-00000000-1111-4222-8333-444444444444').wrap(secret, 'd').catch((e: unknown) => e));
    expect(imds.issued).toHaveLength(4); // two for the warm client, one identity token for each failed exchange
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      for (const token of imds.issued) {
        expect(errorText(e)).not.toContain(token);
        expect(errorText(e)).not.toContain(token.split('.')[1]!);
      }
    }
  });

  it('needs exactly one credential source', () => {
    const base = { region: 'us-south', instanceId, rootKeyId, endpoint: kp.url, cacheSeconds: 0, requestTimeoutMs: 1000, maxAttempts: 1 };
    expect(() => new KeyProtectWrapper(base)).toThrow(/WRAP_ERR_CONFIG: no credentials/);
    expect(() => new KeyProtectWrapper({ ...base, apiKey: 'k', auth: { kind: 'trustedProfile', profileId, metadataEndpoint: imds.url } })).toThrow(/WRAP_ERR_CONFIG: give either auth or apiKey/);
  });
});

describe('the fake metadata service follows the documented contract', () => {
  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${imds.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { access_token?: string; expires_in?: number; errors?: Array<{ code: string }>; trace?: string },
    }));
  const token = '/instance_identity/v1/token?version=2022-03-01';
  const iamToken = '/instance_identity/v1/iam_token?version=2022-03-01';

  it('requires Metadata-Flavor: ibm and a documented expires_in for an identity token', async () => {
    expect(await call('PUT', token, {}, {})).toMatchObject({ status: 400, body: { errors: [{ code: 'missing_value' }] } });
    expect(await call('PUT', token, { 'Metadata-Flavor': 'ibm' }, { expires_in: 7200 })).toMatchObject({ status: 400, body: { errors: [{ code: 'invalid_value' }] } });
    expect(await call('PUT', token, { 'Metadata-Flavor': 'ibm' }, { expires_in: 60, extra: 1 })).toMatchObject({ status: 400, body: { errors: [{ code: 'unknown_field' }] } });
    const ok = await call('PUT', token, { 'Metadata-Flavor': 'ibm' }, {});
    expect(ok).toMatchObject({ status: 200, body: { expires_in: 300 } });
    expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'created_at', 'expires_at', 'expires_in']);
    // The /instance_identity paths are gone for versions from 2025-08-26 on.
    expect((await call('PUT', '/instance_identity/v1/token?version=2025-08-26', { 'Metadata-Flavor': 'ibm' }, {})).status).toBe(404);
  });

  it('answers 401 unauthenticated without a bearer, with a bad one or an expired one, and checks the profile', async () => {
    const ok = await call('PUT', token, { 'Metadata-Flavor': 'ibm' }, { expires_in: 5 });
    const bearer = { authorization: `Bearer ${ok.body.access_token}` };
    const profile = { trusted_profile: { id: profileId } };
    expect(await call('POST', iamToken, {}, profile)).toMatchObject({ status: 401, body: { errors: [{ code: 'unauthenticated' }] } });
    expect(await call('POST', iamToken, { authorization: 'Bearer not-a-token' }, profile)).toMatchObject({ status: 401, body: { errors: [{ code: 'unauthenticated' }] } });
    expect(await call('POST', iamToken, bearer, { trusted_profile: { id: 'Profile-00000000-1111-4222-8333-444444444444' } })).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'profile_not_linked' }] },
    });
    const iam = await call('POST', iamToken, bearer, profile);
    expect(iam).toMatchObject({ status: 200, body: { expires_in: 3600 } });
    // The profile's IAM token is one the fake Key Protect accepts.
    const meta = await fetch(`${kp.url}/api/v2/keys/${rootKeyId}/metadata`, { headers: { authorization: `Bearer ${iam.body.access_token}`, 'bluemix-instance': instanceId } });
    expect(meta.status).toBe(200);
    clock += 6000;
    expect(await call('POST', iamToken, bearer, profile)).toMatchObject({ status: 401, body: { errors: [{ code: 'unauthenticated' }] } });
  });
});
