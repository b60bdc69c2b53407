/**
 * Sessions: which protocol each vCenter version gets, login failures that never echo the password,
 * TLS verification (private CA, refusal without it, --insecure), re-login after a session expires,
 * logout, and the timeout and size bound on every call.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { CryptoManagerKmip } from '../../../server/vcenter/crypto-manager.js';
import { VcenterError } from '../../../server/vcenter/errors.js';
import { HttpClient } from '../../../server/vcenter/http.js';
import { VcenterSession } from '../../../server/vcenter/session.js';
import { FakeVcenter, type FakeVersion } from '../../support/fake-vcenter.js';

const open = (fake: FakeVcenter, extra: Partial<Parameters<typeof VcenterSession.open>[0]> = {}) =>
  VcenterSession.open({ url: fake.url, user: fake.user, password: fake.password, ca: fake.ca.certificatePem, ...extra });

describe('vCenter sessions', () => {
  const fakes: Partial<Record<FakeVersion, FakeVcenter>> = {};
  beforeAll(async () => {
    for (const v of ['8.0.2', '8.0.1', '7.0.3'] as const) fakes[v] = await FakeVcenter.start({ version: v });
  });
  afterAll(async () => {
    for (const f of Object.values(fakes)) await f.close();
  });

  it.each([
    ['8.0.2', 'json', '8.0.2.0'],
    ['8.0.1', 'json', '8.0.1.0'],
    ['7.0.3', 'soap', '7.0.2.0'],
  ] as const)('vCenter %s is spoken to over %s at release %s, and the session is logged out at the end', async (version, kind, release) => {
    const fake = fakes[version]!;
    const s = await open(fake);
    expect([s.transport.kind, s.transport.release]).toEqual([kind, release]);
    expect(fake.activeSessions).toBe(1);
    await new CryptoManagerKmip(s).listKmsClusters();
    await s.close();
    expect(fake.activeSessions).toBe(0);
    expect(fake.calls.at(-1)!.method).toBe('Logout');
  });

  it('VI/JSON can be forced only where it exists; SOAP can be forced anywhere', async () => {
    const err = await open(fakes['7.0.3']!, { api: 'json' }).catch((e: unknown) => e);
    expect((err as VcenterError).code).toBe('VC_ERR_UNSUPPORTED');
    expect((err as VcenterError).message).toMatch(/--vcenter-api soap/);
    const s = await open(fakes['8.0.2']!, { api: 'soap' });
    expect(s.transport.kind).toBe('soap');
    await s.close();
  });

  it('a wrong password is an authentication error that does not contain the password', async () => {
    for (const version of ['8.0.2', '7.0.3'] as const) {
      const wrong = 'Wr0ng-Passw0rd-Secret';
      const err = await open(fakes[version]!, { password: wrong }).catch((e: unknown) => e);
      expect((err as VcenterError).code).toBe('VC_ERR_AUTH');
      expect((err as VcenterError).message).toMatch(/wrong user name or password/);
      expect(JSON.stringify({ m: (err as Error).message, s: (err as Error).stack })).not.toContain(wrong);
    }
  });

  // Issue 18 item 10: the mask once replaced the password's text wherever it appeared, so a password
  // that is a word of the message showed up as "(******** user name or password)".
  const WORDS = ['wrong', 'password', 'vCenter', 'login', 'user', 'name', 'refused', 'administrator@vsphere.local', 'Cannot complete', 'InvalidLogin', 'Wr0ng-Passw0rd-Secret'];

  it.each(['8.0.2', '7.0.3'] as const)('a wrong password that is a word of the message: the same message whatever the password (%s)', async (version) => {
    const fake = fakes[version]!;
    const messages = new Set<string>();
    for (const password of WORDS) {
      const err = (await open(fake, { password }).catch((e: unknown) => e)) as VcenterError;
      expect(err.code, password).toBe('VC_ERR_AUTH');
      expect(err.message, password).not.toContain('*');
      messages.add(err.message);
    }
    expect([...messages]).toEqual(['vCenter refused the login of administrator@vsphere.local (wrong user name or password)']);
  });

  it.each(['8.0.2', '7.0.3'] as const)('a login fault whose text repeats the password is not shown, whatever the password (%s)', async (version) => {
    const fake = fakes[version]!;
    const messages = new Set<string>();
    for (const password of WORDS) {
      fake.failNext('Login', 'InvalidArgument', `A specified parameter was not correct: password ${password}`);
      const err = (await open(fake, { password }).catch((e: unknown) => e)) as VcenterError;
      expect(err.code, password).toBe('VC_ERR_FAULT');
      expect(err.faultType).toBe('InvalidArgument');
      expect(err.message, password).not.toContain('*');
      expect(err.message).not.toContain('A specified parameter');
      messages.add(err.message);
    }
    expect(messages.size).toBe(1);
    expect([...messages][0]).toMatch(/^vCenter did not log administrator@vsphere\.local in: it answered the login with the fault InvalidArgument/);
  });

  it('a re-login after the session expired fails the same way: fixed text, never a masked one', async () => {
    const fake = await FakeVcenter.start({ version: '8.0.2', password: 'password' });
    try {
      const s = await open(fake);
      fake.expireSessions();
      fake.failNext('Login', 'InvalidLogin', 'Cannot complete login due to an incorrect user name or password.');
      const err = (await new CryptoManagerKmip(s).listKmsClusters().catch((e: unknown) => e)) as VcenterError;
      expect(err.code).toBe('VC_ERR_AUTH');
      expect(err.message).toBe('vCenter refused the login of administrator@vsphere.local (wrong user name or password)');
      await s.close();
    } finally {
      await fake.close();
    }
  });

  it('verifies vCenter’s certificate: refused without its CA, accepted with --insecure', async () => {
    const fake = fakes['8.0.2']!;
    const err = await open(fake, { ca: undefined }).catch((e: unknown) => e);
    expect((err as VcenterError).code).toBe('VC_ERR_TLS');
    expect((err as VcenterError).message).toMatch(/--vcenter-ca/);
    const other = issueCertificate({ commonName: 'other CA', isCa: true });
    expect(((await open(fake, { ca: other.certificatePem }).catch((e: unknown) => e)) as VcenterError).code).toBe('VC_ERR_TLS');
    const s = await open(fake, { ca: undefined, insecure: true });
    await s.close();
  });

  it.each(['json', 'soap'] as const)('logs in again when vCenter has expired the session (%s), then logs out', async (api) => {
    const fake = fakes['8.0.2']!;
    const s = await open(fake, { api });
    fake.expireSessions();
    const logins = fake.calls.filter((c) => c.method === 'Login').length;
    expect(await new CryptoManagerKmip(s).listKmsClusters()).toEqual(expect.any(Array));
    expect(fake.calls.filter((c) => c.method === 'Login').length).toBe(logins + 1);
    await s.close();
    expect(fake.activeSessions).toBe(0);
  });

  it.each(['json', 'soap'] as const)('polls a slow task until it ends, and a failed task is an error with its fault (%s)', async (api) => {
    const fake = fakes['8.0.2']!;
    fake.crypto.seed({ id: 'kp-slow' });
    fake.inventory.slowTaskPolls = 3;
    const s = await open(fake, { api });
    try {
      const polls = fake.calls.filter((c) => c.method === 'RetrievePropertiesEx').length;
      expect(await new CryptoManagerKmip(s).status('kp-slow')).toMatchObject({ clusterId: { id: 'kp-slow' }, servers: [] });
      expect(fake.calls.filter((c) => c.method === 'RetrievePropertiesEx').length - polls).toBeGreaterThanOrEqual(4);
      fake.inventory.slowTaskPolls = 0;
      const err = await new CryptoManagerKmip(s).status('kp-missing').catch((e: unknown) => e);
      expect((err as VcenterError).code).toBe('VC_ERR_FAULT');
      expect((err as VcenterError).message).toBe('RetrieveKmipServersStatus_Task: InvalidArgument: key provider kp-missing not found');
    } finally {
      fake.inventory.slowTaskPolls = 0;
      await s.close();
    }
  });

  it('refuses a non-https URL before connecting', async () => {
    const err = await VcenterSession.open({ url: 'http://127.0.0.1:1', user: 'u', password: 'p' }).catch((e: unknown) => e);
    expect((err as VcenterError).code).toBe('VC_ERR_INPUT');
  });

  it('refuses a URL that carries a user or password, without repeating it', async () => {
    for (const url of ['https://admin:s3cret-pass@127.0.0.1:1', 'http://admin:s3cret-pass@127.0.0.1:1', 'admin:s3cret-pass@nowhere']) {
      const err = await VcenterSession.open({ url, user: 'u', password: 'p' }).catch((e: unknown) => e);
      expect((err as VcenterError).code, url).toBe('VC_ERR_INPUT');
      expect((err as Error).message, url).not.toContain('s3cret-pass');
    }
  });

  describe('bounds on every call', () => {
    const ca = issueCertificate({ commonName: 'slow CA', isCa: true });
    const leaf = issueCertificate({ commonName: 'slow', extendedKeyUsage: ['serverAuth'], ipAddresses: ['127.0.0.1'] }, ca);
    const big = 'x'.repeat(200_000);
    const server = createServer({ key: leaf.privateKeyPem, cert: leaf.certificatePem }, (req, res) => {
      if (req.url === '/big') res.end(big);
      // anything else: never answered
    });
    let port = 0;
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });

    it('an answer that never comes ends in a timeout error', async () => {
      const http = new HttpClient(`https://127.0.0.1:${port}`, { ca: ca.certificatePem }, { timeoutMs: 300, maxBytes: 1000 });
      const started = Date.now();
      const err = await http.send({ method: 'GET', path: '/slow' }).catch((e: unknown) => e);
      http.close();
      expect((err as VcenterError).code).toBe('VC_ERR_CONNECT');
      expect((err as VcenterError).message).toMatch(/within 0.3 s/);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('an answer larger than the limit is refused', async () => {
      const http = new HttpClient(`https://127.0.0.1:${port}`, { ca: ca.certificatePem }, { timeoutMs: 5000, maxBytes: 1000 });
      const err = await http.send({ method: 'GET', path: '/big' }).catch((e: unknown) => e);
      http.close();
      expect((err as VcenterError).code).toBe('VC_ERR_PROTOCOL');
      expect((err as VcenterError).message).toMatch(/larger than 1000 bytes/);
    });

    it('a refused connection says where it tried', async () => {
      const http = new HttpClient('https://127.0.0.1:1', {}, { timeoutMs: 2000, maxBytes: 1000 });
      const err = await http.send({ method: 'GET', path: '/' }).catch((e: unknown) => e);
      http.close();
      expect((err as VcenterError).code).toBe('VC_ERR_CONNECT');
      expect((err as VcenterError).message).toMatch(/cannot reach vCenter at https:\/\/127\.0\.0\.1:1/);
    });
  });
});
