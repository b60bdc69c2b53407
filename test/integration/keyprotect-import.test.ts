/**
 * kmipctl keyprotect import-prepare end to end: the built kmipctl against the local fake IAM + Key Protect on
 * loopback writes the file; the values are then sent to Key Protect the way the IBM Terraform provider sends
 * them (keyprotect-go-client: POST /api/v2/keys, no content-type, encryptionAlgorithm RSAES_OAEP_SHA_256), and
 * the imported root key wraps and unwraps. Then the refusals, with kmipctl's exit codes, and the fake's own
 * checks of a secure import (wrong nonce, wrong IV, expired or used-up token). The plaintext material and the API
 * keys are in the secrets ledger, every kmipctl output in the output ledger.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeyProtectImportClient } from '../../server/wrap/keyprotect-import.js';
import { secureImportPayload } from '../../server/wrap/keyprotect-import-crypto.js';
import { KeyProtectWrapper } from '../../server/wrap/keyprotect.js';
import { FakeKeyProtect } from '../support/fake-keyprotect.js';
import { KMIPCTL } from '../support/kmipctl.js';
import { assertBuilt } from '../support/process.js';
import { noteOutput, noteSecret } from '../support/secrets-ledger.js';

const API_KEY = 'kp-import-e2e-api-key-9f3a61d0c2b4';
const FILE_KEYS = ['root_key_material', 'root_key_encrypted_nonce', 'root_key_iv', 'import_token_expires_at'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly json: any;
}

let fake: FakeKeyProtect;
let dir: string;
let apiKeyFile: string;
const materials: Buffer[] = [];

/** The built kmipctl, with IBMCLOUD_API_KEY only when `env` gives it; its output goes to the output ledger. */
function kmipctl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'IBMCLOUD_API_KEY'));
  return new Promise((resolve) => {
    execFile(process.execPath, [KMIPCTL, ...args], { timeout: 60_000, env: { ...base, ...env } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      let json: unknown;
      try {
        json = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
      } catch {
        json = undefined;
      }
      // The label names the command, not its values: no paths, and never a value given after --api-key.
      noteOutput(`kmipctl ${args.filter((a, i) => !a.startsWith('/') && args[i - 1] !== '--api-key').join(' ')}`, `${stdout}${stderr}`);
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr, json });
    });
  });
}

/** Material in a file of its own (0600 unless told), noted as a secret in every encoding a leak could take. */
function materialFile(name: string, bytes: number, encoding: 'raw' | 'base64' = 'raw', mode = 0o600): { file: string; material: Buffer } {
  const material = randomBytes(bytes);
  materials.push(material);
  noteSecret('root key material (secure import)', material);
  noteSecret('root key material (secure import), base64', material.toString('base64'));
  const file = join(dir, name);
  writeFileSync(file, encoding === 'raw' ? material : `${material.toString('base64')}\n`, { mode });
  chmodSync(file, mode);
  return { file, material };
}

function prepareArgs(instance: string, material: string, out: string, ...more: string[]): string[] {
  return ['keyprotect', 'import-prepare', '--instance', instance, '--kp-endpoint', fake.url, '--iam-endpoint', fake.url, '--api-key-file', apiKeyFile, '--material-file', material, '--out', out, ...more];
}

function expectNoMaterialIn(text: string): void {
  for (const m of materials) {
    expect(text).not.toContain(m.toString('hex'));
    expect(text).not.toContain(m.toString('base64'));
  }
  expect(text).not.toContain(API_KEY);
}

async function iamToken(): Promise<string> {
  const res = await fetch(`${fake.url}/identity/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: API_KEY }).toString(),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/**
 * Creates a root key as the Terraform provider does for `ibm_kms_key` with payload, encrypted_nonce and iv_value:
 * keyprotect-go-client's CreateKeyWithOptions + WithPayload(payload, &nonce, &iv, false), which sends the body
 * below with `accept: application/json`, no content-type, and the key ring header.
 */
async function createKeyAsProvider(instance: string, values: { payload: string; encryptedNonce?: string; iv?: string; encryptionAlgorithm?: string }): Promise<{ status: number; body: any }> {
  const body = JSON.stringify({
    metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
    resources: [
      {
        name: 'kmip-crk-import',
        description: 'Customer root key: wraps every key the KMIP servers hand out',
        type: 'application/vnd.ibm.kms.key+json',
        extractable: false,
        payload: values.payload,
        ...(values.encryptedNonce !== undefined || values.iv !== undefined ? { encryptionAlgorithm: values.encryptionAlgorithm ?? 'RSAES_OAEP_SHA_256' } : {}),
        ...(values.encryptedNonce !== undefined ? { encryptedNonce: values.encryptedNonce } : {}),
        ...(values.iv !== undefined ? { iv: values.iv } : {}),
      },
    ],
  });
  const token = await iamToken();
  return new Promise((resolve, reject) => {
    const req = request(
      `${fake.url}/api/v2/keys`,
      { method: 'POST', headers: { accept: 'application/json', authorization: `Bearer ${token}`, 'bluemix-instance': instance, 'correlation-id': 'c0ffee00-0000-4000-8000-000000000001', 'x-kms-key-ring': 'default' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function reason(body: any): string | undefined {
  return body?.resources?.[0]?.reasons?.[0]?.code;
}

beforeAll(async () => {
  assertBuilt();
  fake = await new FakeKeyProtect().start();
  fake.addApiKey(API_KEY);
  dir = mkdtempSync(join(tmpdir(), 'kmipctl-kp-import-'));
  apiKeyFile = join(dir, 'api-key');
  writeFileSync(apiKeyFile, `${API_KEY}\n`, { mode: 0o600 });
});
afterAll(async () => {
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  // Key Protect's size for the end-to-end run below; the other tests save the seconds.
  fake.importTokenKeyBits = 2048;
});

describe('kmipctl keyprotect import-prepare', () => {
  it('writes a 0600 file the Terraform provider path imports, and the imported root key then wraps and unwraps', async () => {
    fake.importTokenKeyBits = 4096;
    const instance = fake.addInstance();
    const imported = fake.created.secureImported;
    const { file, material } = materialFile('material-256.bin', 32);
    const out = join(dir, 'import-256.json');
    const r = await kmipctl([...prepareArgs(instance, file, out, '--expires-in', '900'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      file: out,
      instance,
      keyBits: 256,
      encryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      importTokenExpiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      shell: [
        `export TF_VAR_root_key_material="$(jq -r .root_key_material '${out}')"`,
        `export TF_VAR_root_key_encrypted_nonce="$(jq -r .root_key_encrypted_nonce '${out}')"`,
        `export TF_VAR_root_key_iv="$(jq -r .root_key_iv '${out}')"`,
      ],
    });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    expect(Object.keys(doc)).toEqual(FILE_KEYS);
    expect(doc['import_token_expires_at']).toBe(r.json.importTokenExpiresAt);
    const lifetime = Date.parse(doc['import_token_expires_at']!) - Date.now();
    expect(lifetime).toBeGreaterThan(800_000);
    expect(lifetime).toBeLessThanOrEqual(900_000);
    expect(Buffer.from(doc['root_key_material']!, 'base64')).toHaveLength(512);
    expect(Buffer.from(doc['root_key_iv']!, 'base64')).toHaveLength(12);
    expect(Buffer.from(doc['root_key_encrypted_nonce']!, 'base64')).toHaveLength(12 + 16);
    // The file holds no plaintext, and stdout none of the values.
    expectNoMaterialIn(readFileSync(out, 'utf8'));
    expectNoMaterialIn(r.stdout);
    for (const k of FILE_KEYS.slice(0, 3)) expect(r.stdout).not.toContain(doc[k]!);
    // One token, retrieved once, with the policy asked for.
    expect(fake.importToken(instance)).toMatchObject({ maxAllowedRetrievals: 1, remainingRetrievals: 0 });

    // TF_VAR_root_key_material → payload, TF_VAR_root_key_encrypted_nonce → encrypted_nonce, TF_VAR_root_key_iv → iv_value.
    const created = await createKeyAsProvider(instance, { payload: doc['root_key_material']!, encryptedNonce: doc['root_key_encrypted_nonce']!, iv: doc['root_key_iv']! });
    expect(created.status).toBe(201);
    const key = created.body.resources[0];
    expect(key).toMatchObject({ extractable: false, imported: true, state: 1 });
    expect(fake.isImported(key.id)).toBe(true);
    expect(fake.keyMaterial(key.id)!.equals(material)).toBe(true);
    expect(fake.created.secureImported).toBe(imported + 1);

    const wrapper = new KeyProtectWrapper({ region: 'us-south', instanceId: instance, rootKeyId: key.id, endpoint: fake.url, iamEndpoint: fake.url, apiKey: API_KEY, cacheSeconds: 0, requestTimeoutMs: 5000, maxAttempts: 2 });
    try {
      await wrapper.check();
      const dek = randomBytes(32);
      const wrapped = await wrapper.wrap(dek, 'object-1');
      expect(Buffer.from((await wrapper.unwrap(wrapped, 'object-1')).plaintext).equals(dek)).toBe(true);
      await expect(wrapper.unwrap(wrapped, 'object-2')).rejects.toMatchObject({ code: 'WRAP_ERR_REJECTED' });
    } finally {
      await wrapper.close();
    }
    // The token stays usable for imports until it expires (docs), but the same values make a second key, not an error.
    expect((await createKeyAsProvider(instance, { payload: doc['root_key_material']!, encryptedNonce: doc['root_key_encrypted_nonce']!, iv: doc['root_key_iv']! })).status).toBe(201);
  });

  it('reads base64 material, prints the shell lines (never the values), and takes the API key from IBMCLOUD_API_KEY', async () => {
    const instance = fake.addInstance();
    const { file, material } = materialFile('material-192.b64', 24, 'base64');
    const out = join(dir, "it's-192.json");
    const args = prepareArgs(instance, file, out, '--material-encoding', 'base64').filter((a, i, all) => a !== '--api-key-file' && all[i - 1] !== '--api-key-file');
    const r = await kmipctl(args, { IBMCLOUD_API_KEY: API_KEY });
    expect(r.code).toBe(0);
    const quoted = `'${out.replace(/'/g, `'\\''`)}'`;
    expect(r.stdout).toContain(`192-bit root key material`);
    expect(r.stdout).toContain(`export TF_VAR_root_key_material="$(jq -r .root_key_material ${quoted})"`);
    expect(r.stdout).toContain(`export TF_VAR_root_key_encrypted_nonce="$(jq -r .root_key_encrypted_nonce ${quoted})"`);
    expect(r.stdout).toContain(`export TF_VAR_root_key_iv="$(jq -r .root_key_iv ${quoted})"`);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    for (const k of FILE_KEYS.slice(0, 3)) expect(r.stdout).not.toContain(doc[k]!);
    expectNoMaterialIn(r.stdout + r.stderr);
    const created = await createKeyAsProvider(instance, { payload: doc['root_key_material']!, encryptedNonce: doc['root_key_encrypted_nonce']!, iv: doc['root_key_iv']! });
    expect(created.status).toBe(201);
    expect(fake.keyMaterial(created.body.resources[0].id)!.equals(material)).toBe(true);
  });

  it('refuses bad material (exit 2) and a world-readable material file (exit 3) before asking Key Protect for anything', async () => {
    const instance = fake.addInstance();
    const out = join(dir, 'refused.json');
    for (const [name, bytes, encoding] of [
      ['short.bin', 31, 'raw'],
      ['long.bin', 33, 'raw'],
      ['tiny.bin', 8, 'raw'],
      ['short.b64', 20, 'base64'],
    ] as const) {
      const { file } = materialFile(name, bytes, encoding);
      const r = await kmipctl([...prepareArgs(instance, file, out, ...(encoding === 'base64' ? ['--material-encoding', 'base64'] : [])), '--json']);
      expect(r.code, name).toBe(2);
      expect(r.json.error).toMatch(/16, 24 or 32 bytes/);
      expectNoMaterialIn(r.stdout + r.stderr);
    }
    const notBase64 = join(dir, 'garbage.b64');
    writeFileSync(notBase64, 'this is not base64 at all\n', { mode: 0o600 });
    expect((await kmipctl(prepareArgs(instance, notBase64, out, '--material-encoding', 'base64'))).code).toBe(2);
    // Raw material that holds base64 text gets a hint.
    const { file: b64AsRaw } = materialFile('b64-as-raw.txt', 32, 'base64');
    const hinted = await kmipctl(prepareArgs(instance, b64AsRaw, out));
    expect(hinted.code).toBe(2);
    expect(hinted.stderr).toMatch(/--material-encoding base64/);

    const { file: open } = materialFile('world-readable.bin', 32, 'raw', 0o644);
    const refused = await kmipctl(prepareArgs(instance, open, out));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/every user on this machine can read it \(mode 644\)/);
    expectNoMaterialIn(refused.stdout + refused.stderr);
    expect(existsSync(out)).toBe(false);
    expect(fake.importToken(instance)).toBeUndefined();
  });

  it('never overwrites --out without --force, and replaces it (0600) with it', async () => {
    const instance = fake.addInstance();
    const { file } = materialFile('material-force.bin', 16);
    const out = join(dir, 'existing.json');
    writeFileSync(out, 'keep me\n', { mode: 0o644 });
    const r = await kmipctl(prepareArgs(instance, file, out));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exists; give --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    expect(fake.importToken(instance)).toBeUndefined();
    const forced = await kmipctl(prepareArgs(instance, file, out, '--force'));
    expect(forced.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(out, 'utf8')) as object)).toEqual(FILE_KEYS);
    expect((await kmipctl(prepareArgs(instance, file, file))).code).toBe(2);
  });

  it('needs credentials from a file or the environment (exit 2), and fails (exit 1) when IAM or Key Protect refuse', async () => {
    const instance = fake.addInstance();
    const { file } = materialFile('material-creds.bin', 32);
    const out = join(dir, 'creds.json');
    const withoutKey = prepareArgs(instance, file, out).filter((a, i, all) => a !== '--api-key-file' && all[i - 1] !== '--api-key-file');
    const missing = await kmipctl([...withoutKey, '--json']);
    expect(missing.code).toBe(2);
    expect(missing.json.error).toMatch(/--api-key-file FILE \(or IBMCLOUD_API_KEY\)/);
    // Never on the command line.
    const onCommandLine = await kmipctl([...withoutKey, '--api-key', API_KEY]);
    expect(onCommandLine.code).toBe(2);
    expect(onCommandLine.stdout + onCommandLine.stderr).not.toContain(API_KEY);

    const wrongKey = 'kp-import-e2e-not-a-known-key-41c7';
    noteSecret('Key Protect API key', wrongKey);
    const wrong = await kmipctl([...withoutKey, '--json'], { IBMCLOUD_API_KEY: wrongKey });
    expect(wrong.code).toBe(1);
    expect(wrong.json).toMatchObject({ code: 'UNAUTHORIZED', cause: 'WRAP_ERR_AUTH', error: expect.stringMatching(/IAM refused the API key \(400 BXNIM0415E\)/) });
    expect(wrong.stdout + wrong.stderr).not.toContain(wrongKey);

    const stranger = await kmipctl([...prepareArgs('3a1f0c2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b', file, out), '--json']);
    expect(stranger.code).toBe(1);
    expect(stranger.json).toMatchObject({ code: 'UNAUTHORIZED', cause: 'WRAP_ERR_AUTH', status: 401 });
    expect(stranger.json.error).toMatch(/Writer or Manager/);
    expect(existsSync(out)).toBe(false);
    expectNoMaterialIn(missing.stdout + wrong.stdout + wrong.stderr + stranger.stdout + stranger.stderr);
  });

  it('refuses usage errors before any call: bad instance, region, endpoints and token lifetime', async () => {
    const { file } = materialFile('material-usage.bin', 32);
    const out = join(dir, 'usage.json');
    const instance = fake.addInstance();
    const cases: string[][] = [
      ['keyprotect', 'import-prepare', '--instance', 'not-a-guid', '--region', 'us-south', '--api-key-file', apiKeyFile, '--material-file', file, '--out', out],
      ['keyprotect', 'import-prepare', '--instance', instance, '--api-key-file', apiKeyFile, '--material-file', file, '--out', out],
      ['keyprotect', 'import-prepare', '--instance', instance, '--kp-endpoint', 'http://kms.example.com', '--api-key-file', apiKeyFile, '--material-file', file, '--out', out],
      ['keyprotect', 'import-prepare', '--instance', `crn:v1:bluemix:public:kms:us-south:a/abc123:${instance}::`, '--region', 'eu-de', '--api-key-file', apiKeyFile, '--material-file', file, '--out', out],
      [...prepareArgs(instance, file, out), '--iam-endpoint', 'http://iam.example.com'],
      [...prepareArgs(instance, file, out), '--expires-in', '299'],
      [...prepareArgs(instance, file, out), '--expires-in', '86401'],
      [...prepareArgs(instance, file, out), '--material-encoding', 'hex'],
      prepareArgs(instance, file, join(dir, 'no-such-folder', 'x.json')),
    ];
    for (const args of cases) {
      const r = await kmipctl(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fake.importToken(instance)).toBeUndefined();
    expect(existsSync(out)).toBe(false);
    const help = await kmipctl(['--help']);
    expect(help.stdout).toMatch(/keyprotect import-prepare KEYPROTECT --material-file FILE --out FILE/);
  });
});

describe('the fake Key Protect checks a secure import as Key Protect does', () => {
  let instance: string;
  let client: KeyProtectImportClient;

  beforeEach(() => {
    instance = fake.addInstance();
    client = new KeyProtectImportClient({ instanceId: instance, endpoint: fake.url, auth: { kind: 'apiKey', apiKey: API_KEY, iamEndpoint: fake.url }, requestTimeoutMs: 5000, maxAttempts: 2 });
  });

  async function prepared(material: Buffer, maxAllowedRetrievals = 1) {
    const token = await client.freshImportToken({ expirationSeconds: 600, maxAllowedRetrievals });
    await client.close();
    return { token, values: secureImportPayload(token, material) };
  }

  it('rejects a nonce that is not the token\'s, an IV that does not open it, and material wrapped under another key', async () => {
    const material = randomBytes(32);
    noteSecret('root key material (secure import)', material);
    const { token, values } = await prepared(material);
    const imported = fake.created.secureImported;
    const otherNonce = secureImportPayload({ publicKey: token.publicKey, nonce: randomBytes(12).toString('base64') }, material);
    const wrongNonce = await createKeyAsProvider(instance, { payload: values.payload, encryptedNonce: otherNonce.encryptedNonce, iv: otherNonce.iv });
    expect([wrongNonce.status, reason(wrongNonce.body)]).toEqual([400, 'INCORRECT_NONCE_ERR']);
    const wrongIv = await createKeyAsProvider(instance, { payload: values.payload, encryptedNonce: values.encryptedNonce, iv: randomBytes(12).toString('base64') });
    expect([wrongIv.status, reason(wrongIv.body)]).toEqual([400, 'INCORRECT_NONCE_IV_ERR']);
    const onlyNonce = await createKeyAsProvider(instance, { payload: values.payload, encryptedNonce: values.encryptedNonce });
    expect([onlyNonce.status, reason(onlyNonce.body)]).toEqual([400, 'BAD_BODY_ERR']);
    const sha1 = await createKeyAsProvider(instance, { ...values, encryptionAlgorithm: 'RSAES_OAEP_SHA_1' });
    expect([sha1.status, reason(sha1.body)]).toEqual([400, 'INVALID_FIELD_ERR']);
    // Material sealed for another instance's token: this instance's HSM key cannot open it.
    const elsewhere = fake.addInstance();
    const otherClient = new KeyProtectImportClient({ instanceId: elsewhere, endpoint: fake.url, auth: { kind: 'apiKey', apiKey: API_KEY, iamEndpoint: fake.url } });
    const otherToken = await otherClient.freshImportToken({ expirationSeconds: 600, maxAllowedRetrievals: 1 });
    await otherClient.close();
    const foreign = secureImportPayload({ publicKey: otherToken.publicKey, nonce: token.nonce }, material);
    const notOurs = await createKeyAsProvider(instance, { payload: foreign.payload, encryptedNonce: foreign.encryptedNonce, iv: foreign.iv });
    expect([notOurs.status, reason(notOurs.body)]).toEqual([422, 'UNPROCESSABLE_CIPHERTEXT_ERR']);
    expect(fake.created.secureImported).toBe(imported);
    // And the right values still import.
    expect((await createKeyAsProvider(instance, values)).status).toBe(201);
  });

  it('rejects an expired token at import, and a token retrieved more often than it allows', async () => {
    const material = randomBytes(24);
    noteSecret('root key material (secure import)', material);
    const { values } = await prepared(material, 2);
    const again = new KeyProtectImportClient({ instanceId: instance, endpoint: fake.url, auth: { kind: 'apiKey', apiKey: API_KEY, iamEndpoint: fake.url } });
    await again.getImportToken();
    const third = (await again.getImportToken().catch((e: unknown) => e)) as { details: { status: number } };
    await again.close();
    expect(third.details.status).toBe(409);
    expect(fake.importToken(instance)).toMatchObject({ maxAllowedRetrievals: 2, remainingRetrievals: 0 });
    // Used up for retrieval, still good for importing until it expires.
    fake.expireImportToken(instance);
    const expired = await createKeyAsProvider(instance, values);
    expect([expired.status, reason(expired.body)]).toEqual([409, 'IMPORT_TOKEN_EXPIRED_ERR']);
  });
});
