/**
 * Secure import, the client side: the crypto checked by standing in for Key Protect (our own RSA key pair, the
 * OAEP decoding redone by hand so the hash and MGF1 are pinned, AES-GCM with the tag at the end), and the import
 * token client against the local fake Key Protect.
 */
import { execFileSync } from 'node:child_process';
import { constants, createDecipheriv, createHash, generateKeyPairSync, privateDecrypt, randomBytes, type CipherGCMTypes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WrapError, WrapErrorCode } from '../../../server/wrap/errors.js';
import { KeyProtectImportClient } from '../../../server/wrap/keyprotect-import.js';
import { importTokenPublicKey, SECURE_IMPORT_ALGORITHM, secureImportPayload } from '../../../server/wrap/keyprotect-import-crypto.js';
import { FakeKeyProtect } from '../../support/fake-keyprotect.js';
import { noteSecret } from '../../support/secrets-ledger.js';

let privateKey: KeyObject;
let publicPemB64: string;
let publicDerB64: string;

beforeAll(() => {
  // Key Protect's import token keys are RSA-4096: the same size here.
  const pair = generateKeyPairSync('rsa', { modulusLength: 4096 });
  privateKey = pair.privateKey;
  publicPemB64 = Buffer.from(pair.publicKey.export({ type: 'spki', format: 'pem' }) as string).toString('base64');
  publicDerB64 = (pair.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');
});

function mgf1Sha256(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; Buffer.concat(out).length < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    out.push(createHash('sha256').update(seed).update(c).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RFC 8017 §7.1.2 EME-OAEP decoding with SHA-256 for the hash and for MGF1, empty label: Go's rsa.EncryptOAEP(sha256.New()). */
function oaepSha256Decode(ciphertext: Buffer): Buffer {
  const em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  const hLen = 32;
  expect(em[0]).toBe(0);
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = Buffer.from(maskedSeed.map((b, i) => b ^ mgf1Sha256(maskedDb, hLen)[i]!));
  const db = Buffer.from(maskedDb.map((b, i) => b ^ mgf1Sha256(seed, maskedDb.length)[i]!));
  expect(db.subarray(0, hLen).equals(createHash('sha256').update(Buffer.alloc(0)).digest())).toBe(true);
  const one = db.indexOf(1, hLen);
  expect(db.subarray(hLen, one).every((b) => b === 0)).toBe(true);
  return db.subarray(one + 1);
}

function openNonce(material: Buffer, encryptedNonce: string, iv: string): Buffer {
  const sealed = Buffer.from(encryptedNonce, 'base64');
  const d = createDecipheriv(`aes-${material.length * 8}-gcm` as CipherGCMTypes, material, Buffer.from(iv, 'base64'));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

describe('secure import payload', () => {
  for (const size of [16, 24, 32]) {
    it(`wraps ${size * 8}-bit material so only the token's private key opens it, and seals the nonce with it (tag appended)`, () => {
      const material = randomBytes(size);
      const nonce = randomBytes(12);
      const r = secureImportPayload({ publicKey: publicPemB64, nonce: nonce.toString('base64') }, material);
      expect(r.encryptionAlgorithm).toBe('RSAES_OAEP_SHA_256');
      expect(SECURE_IMPORT_ALGORITHM).toBe('RSAES_OAEP_SHA_256');
      const wrapped = Buffer.from(r.payload, 'base64');
      expect(wrapped).toHaveLength(512);
      expect(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped).equals(material)).toBe(true);
      expect(oaepSha256Decode(wrapped).equals(material)).toBe(true);
      // Not SHA-1 OAEP (that is Hyper Protect's scheme, and not what the provider declares).
      expect(() => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, wrapped)).toThrow();
      expect(Buffer.from(r.iv, 'base64')).toHaveLength(12);
      expect(Buffer.from(r.encryptedNonce, 'base64')).toHaveLength(12 + 16);
      expect(openNonce(material, r.encryptedNonce, r.iv).equals(nonce)).toBe(true);
      expect(() => openNonce(randomBytes(size), r.encryptedNonce, r.iv)).toThrow();
      for (const v of [r.payload, r.encryptedNonce, r.iv]) expect(v).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    });
  }

  it('matches the documented example sizes: a 16-character nonce gives a 40-character encryptedNonce and a 16-character iv', () => {
    // The tutorial's nonce "8zJE9pKVdXVe/nLb" and its outputs "DVy/…Vw==" (40) and "puQrzDX7gU1TcTTx" (16).
    const r = secureImportPayload({ publicKey: publicPemB64, nonce: '8zJE9pKVdXVe/nLb' }, randomBytes(32));
    expect(r.encryptedNonce).toHaveLength(40);
    expect(r.iv).toHaveLength(16);
  });

  it('uses a fresh IV and OAEP seed every time', () => {
    const material = randomBytes(32);
    const token = { publicKey: publicPemB64, nonce: randomBytes(12).toString('base64') };
    const a = secureImportPayload(token, material);
    const b = secureImportPayload(token, material);
    expect(a.iv).not.toBe(b.iv);
    expect(a.payload).not.toBe(b.payload);
    expect(a.encryptedNonce).not.toBe(b.encryptedNonce);
  });

  it('takes the public key as base64 of PEM (documented) or of DER', () => {
    const material = randomBytes(32);
    const r = secureImportPayload({ publicKey: publicDerB64, nonce: randomBytes(12).toString('base64') }, material);
    expect(oaepSha256Decode(Buffer.from(r.payload, 'base64')).equals(material)).toBe(true);
    expect(importTokenPublicKey(publicPemB64).asymmetricKeyDetails?.modulusLength).toBe(4096);
  });

  it('refuses bad material, a bad nonce and a public key that is not a sizeable RSA key, never quoting the material', () => {
    const nonce = randomBytes(12).toString('base64');
    const refusal = (token: { publicKey: string; nonce: string }, material: Buffer): WrapError => {
      try {
        secureImportPayload(token, material);
      } catch (err) {
        expect(err).toBeInstanceOf(WrapError);
        return err as WrapError;
      }
      throw new Error('not refused');
    };
    for (const n of [0, 15, 31, 33, 64]) {
      const material = randomBytes(n);
      const err = refusal({ publicKey: publicPemB64, nonce }, material);
      expect(err.code).toBe(WrapErrorCode.Config);
      expect(err.message).toMatch(/16, 24 or 32 bytes/);
      if (n > 0) expect(err.message).not.toContain(material.toString('hex'));
    }
    const material = randomBytes(32);
    const texts = [
      refusal({ publicKey: publicPemB64, nonce: 'not base64!' }, material),
      refusal({ publicKey: publicPemB64, nonce: '' }, material),
      refusal({ publicKey: 'AAAA', nonce }, material),
      refusal({ publicKey: Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string).toString('base64'), nonce }, material),
      refusal({ publicKey: Buffer.from(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string).toString('base64'), nonce }, material),
    ].map((e) => e.message);
    expect(texts[3]).toMatch(/not RSA/);
    expect(texts[4]).toMatch(/1024 bits/);
    for (const t of texts) {
      expect(t).not.toContain(material.toString('hex'));
      expect(t).not.toContain(material.toString('base64'));
    }
  });

  it.skipIf(!hasOpenssl())('is what the documented openssl pkeyutl OAEP SHA-256 command decrypts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-import-'));
    try {
      const material = randomBytes(32);
      const r = secureImportPayload({ publicKey: publicPemB64, nonce: randomBytes(12).toString('base64') }, material);
      writeFileSync(join(dir, 'private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
      writeFileSync(join(dir, 'wrapped.bin'), Buffer.from(r.payload, 'base64'));
      const out = execFileSync('openssl', ['pkeyutl', '-decrypt', '-inkey', join(dir, 'private.pem'), '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-in', join(dir, 'wrapped.bin')]);
      expect(out.equals(material)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('import token client', () => {
  const API_KEY = 'kp-import-test-api-key-3c9d1e7f';
  let fake: FakeKeyProtect;
  let instanceId: string;
  const clients: KeyProtectImportClient[] = [];

  beforeEach(async () => {
    fake = await new FakeKeyProtect().start();
    fake.importTokenKeyBits = 2048;
    fake.addApiKey(API_KEY);
    instanceId = fake.addInstance();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake.stop();
  });
  afterAll(() => noteSecret('Key Protect API key', API_KEY));

  function client(apiKey = API_KEY, instance = instanceId): KeyProtectImportClient {
    const c = new KeyProtectImportClient({ instanceId: instance, endpoint: fake.url, auth: { kind: 'apiKey', apiKey, iamEndpoint: fake.url }, requestTimeoutMs: 5000, maxAttempts: 3 });
    clients.push(c);
    return c;
  }
  const tokenRequests = () => fake.requests.filter((r) => r.path === '/api/v2/import_token');

  it('creates and retrieves a token with the documented headers and body, spending its one retrieval', async () => {
    const token = await client().freshImportToken({ expirationSeconds: 900, maxAllowedRetrievals: 1 });
    expect(importTokenPublicKey(token.publicKey).asymmetricKeyType).toBe('rsa');
    expect(Buffer.from(token.nonce, 'base64').length).toBeGreaterThan(0);
    expect(token.remainingRetrievals).toBe(0);
    expect(Date.parse(token.expirationDate) - Date.now()).toBeGreaterThan(890_000);
    const [post, get] = tokenRequests();
    expect(post!.method).toBe('POST');
    expect(JSON.parse(post!.body)).toEqual({ expiration: 900, maxAllowedRetrievals: 1 });
    expect(post!.headers['content-type']).toBe('application/json');
    expect(get!.method).toBe('GET');
    for (const r of [post!, get!]) {
      expect(r.headers['bluemix-instance']).toBe(instanceId);
      expect(r.headers['authorization']).toMatch(/^Bearer ey/);
      expect(r.headers['correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Used up: a second retrieval is refused, as an expired one is.
    const again = await client().getImportToken().catch((e: unknown) => e as WrapError);
    expect(again).toBeInstanceOf(WrapError);
    expect((again as WrapError).code).toBe(WrapErrorCode.Rejected);
    expect((again as WrapError).details.status).toBe(409);
  });

  it('refuses policies outside Key Protect\'s limits before any call', async () => {
    for (const policy of [
      { expirationSeconds: 299, maxAllowedRetrievals: 1 },
      { expirationSeconds: 86_401, maxAllowedRetrievals: 1 },
      { expirationSeconds: 600, maxAllowedRetrievals: 0 },
      { expirationSeconds: 600, maxAllowedRetrievals: 501 },
    ]) {
      await expect(client().freshImportToken(policy)).rejects.toMatchObject({ code: WrapErrorCode.Config });
    }
    expect(tokenRequests()).toHaveLength(0);
  });

  it('says an expired token has expired', async () => {
    const c = client();
    await c.createImportToken({ expirationSeconds: 300, maxAllowedRetrievals: 5 });
    fake.expireImportToken(instanceId);
    const err = (await c.getImportToken().catch((e: unknown) => e)) as WrapError;
    expect(err.code).toBe(WrapErrorCode.Rejected);
    expect(err.message).toMatch(/409 IMPORT_TOKEN_EXPIRED_ERR .*expired/);
  });

  it('retries create-then-get as a pair through a 503, and fails fast on access and credential refusals without quoting secrets', async () => {
    fake.fault = { kind: 503, remaining: 1, kpOnly: true };
    const token = await client().freshImportToken({ expirationSeconds: 600, maxAllowedRetrievals: 1 });
    expect(token.publicKey.length).toBeGreaterThan(100);
    const denied = (await client(API_KEY, '0f6d1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b').freshImportToken({ expirationSeconds: 600, maxAllowedRetrievals: 1 }).catch((e: unknown) => e)) as WrapError;
    expect(denied.code).toBe(WrapErrorCode.Auth);
    expect(denied.message).toMatch(/401 UNAUTHORIZED_ERR .*Writer or Manager/);
    const badKey = 'kp-import-wrong-api-key-77a1b2c3';
    noteSecret('Key Protect API key', badKey);
    const refused = (await client(badKey).freshImportToken({ expirationSeconds: 600, maxAllowedRetrievals: 1 }).catch((e: unknown) => e)) as WrapError;
    expect(refused.code).toBe(WrapErrorCode.Auth);
    for (const e of [denied, refused]) {
      expect(e.message).not.toContain(API_KEY);
      expect(e.message).not.toContain(badKey);
      expect(e.message).not.toMatch(/Bearer|eyJ/);
    }
  });
});
