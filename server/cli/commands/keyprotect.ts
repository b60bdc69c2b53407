/**
 * keyprotect import-prepare: Key Protect secure import of the customer's root key material, so the plaintext
 * material never reaches Terraform. kmipctl creates a fresh import token on the instance (one retrieval), wraps the
 * material under the token's public key (RSAES-OAEP SHA-256) and encrypts the token's nonce with the material
 * (AES-GCM), and writes the three values the stack's `ibm_kms_key` takes (payload, encrypted_nonce, iv_value) to a
 * 0600 file. The plaintext is read from one file and goes nowhere else: not to stdout, stderr, an error or a log.
 * Talks to IAM and Key Protect only; no KMIP server is involved.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { shellWord } from '../../util/shell.js';
import { WrapError } from '../../wrap/errors.js';
import { KeyProtectImportClient, IMPORT_TOKEN_MAX_SECONDS, IMPORT_TOKEN_MIN_SECONDS } from '../../wrap/keyprotect-import.js';
import { ROOT_KEY_MATERIAL_BYTES, SECURE_IMPORT_ALGORITHM, secureImportPayload } from '../../wrap/keyprotect-import-crypto.js';
import { CliError } from '../errors.js';
import type { Command } from '../command.js';
import { need, type CliOptions } from '../options.js';

/** The stack's Terraform variables (stacks/config.ts defaults) and the output file's keys, one to one. */
export const IMPORT_FILE_KEYS = ['root_key_material', 'root_key_encrypted_nonce', 'root_key_iv'] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** crn:v1:<cloud>:<public|private|…>:kms:<region>:a/<account>:<instance guid>:: */
const KP_CRN = /^crn:v1:[^:]+:[^:]+:kms:([a-z0-9-]+):a\/[^:]+:([0-9a-f-]{36})::$/i;
const MAX_MATERIAL_FILE = 4096;

interface Target {
  readonly instanceId: string;
  readonly region: string | undefined;
  readonly endpoint: string;
}

function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** An endpoint URL we send an API key or IAM token to: https, or http on this machine only. */
function checkUrl(value: string, flag: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${flag} must be a URL, got ${value}`, 2);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopback(url)) return;
  throw new CliError(`${flag} must be https:// (http:// only on 127.0.0.1 or localhost): credentials would cross the network in clear`, 2);
}

function target(o: CliOptions): Target {
  const given = need(o.instance, '--instance GUID|CRN');
  let instanceId = given;
  let region = o.region;
  const crn = KP_CRN.exec(given);
  if (crn) {
    instanceId = crn[2]!;
    if (region && region !== crn[1]) throw new CliError(`--region ${region} does not match the instance CRN's region ${crn[1]}`, 2);
    region = crn[1];
  }
  if (!GUID.test(instanceId)) throw new CliError('--instance takes the Key Protect instance GUID (or its CRN), e.g. 2f1b3c4d-…', 2);
  const endpoint = o['kp-endpoint'];
  if (endpoint === 'public' || endpoint === 'private') {
    if (!region) throw new CliError(`the ${endpoint} Key Protect endpoint needs --region REGION (or an instance CRN)`, 2);
    if (!/^[a-z]{2}-[a-z]{2,5}$/.test(region)) throw new CliError(`--region takes a region such as us-south, got ${region}`, 2);
  } else checkUrl(endpoint, '--kp-endpoint');
  return { instanceId: instanceId.toLowerCase(), region, endpoint };
}

function expiresIn(o: CliOptions): number {
  const text = o['expires-in'];
  const seconds = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= IMPORT_TOKEN_MIN_SECONDS && seconds <= IMPORT_TOKEN_MAX_SECONDS)) {
    throw new CliError(`--expires-in takes ${IMPORT_TOKEN_MIN_SECONDS} to ${IMPORT_TOKEN_MAX_SECONDS} seconds (Key Protect's limits), got ${text}`, 2);
  }
  return seconds;
}

/**
 * The material, from a regular file that not every user can read: raw bytes, or base64 text. The file is read once
 * through one descriptor (what was checked is what is read); every buffer that held it is cleared but the result.
 */
function readMaterial(file: string, encoding: string): Buffer {
  if (encoding !== 'raw' && encoding !== 'base64') throw new CliError(`--material-encoding takes raw or base64, got ${encoding}`, 2);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new CliError(`cannot read the material file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 2);
  }
  let content: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CliError(`the material file ${file} is not a regular file`, 2);
    if (process.platform !== 'win32' && (st.mode & 0o004) !== 0) {
      throw new CliError(`refusing the material file ${file}: every user on this machine can read it (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it, and treat the material as exposed`, 3);
    }
    if (process.platform !== 'win32' && (st.mode & 0o040) !== 0) process.stderr.write(`kmipctl: warning: the material file ${file} is readable by its group\n`);
    if (st.size > MAX_MATERIAL_FILE) throw new CliError(`the material file ${file} is ${st.size} bytes: not 16, 24 or 32 bytes of key material`, 2);
    content = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  let material = content;
  if (encoding === 'base64') {
    const text = content.toString('latin1').trim();
    const valid = text.length > 0 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
    material = valid ? Buffer.from(text, 'base64') : Buffer.alloc(0);
    content.fill(0);
    if (!valid) throw new CliError(`the material file ${file} is not base64 (one line of the standard alphabet, padded)`, 2);
  }
  if (!ROOT_KEY_MATERIAL_BYTES.includes(material.length)) {
    const n = material.length;
    material.fill(0);
    const hint = encoding === 'raw' && n > 16 && n <= 46 ? ' (if it holds base64 text, give --material-encoding base64)' : '';
    throw new CliError(`root key material must be 16, 24 or 32 bytes (AES-128/192/256); ${file} holds ${n}${hint}`, 2);
  }
  return material;
}

/** The API key: from a file or IBMCLOUD_API_KEY, never from the command line. */
function apiKey(o: CliOptions): string {
  const file = o['api-key-file'];
  let key: string | undefined;
  if (file) {
    try {
      key = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new CliError(`cannot read the API key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 2);
    }
    if (!key) throw new CliError(`the API key file ${file} is empty`, 2);
  } else key = process.env['IBMCLOUD_API_KEY']?.trim();
  if (!key) throw new CliError('give an IBM Cloud API key with Writer or Manager on the instance: --api-key-file FILE (or IBMCLOUD_API_KEY)', 2);
  return key;
}

/** Writes `content` to `out` with mode 0600: never over an existing file unless `force`, and then by a rename. */
function writePrivate(out: string, content: string, force: boolean): void {
  if (!force) {
    try {
      writeFileSync(out, content, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new CliError(`${out} exists; give --force to replace it`, 2);
      throw new CliError(`cannot write ${out}: ${code ?? 'error'}`, 1);
    }
    return;
  }
  const partial = `${out}.partial-${process.pid}`;
  try {
    writeFileSync(partial, content, { mode: 0o600, flag: 'wx' });
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new CliError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 1);
  }
}

function minutesFrom(now: number, iso: string): number {
  return Math.max(0, Math.round((Date.parse(iso) - now) / 60_000));
}

const importPrepare: Command = async ({ out, options: o }) => {
  // Every check that needs no network comes first: a usage error costs no import token.
  const where = target(o);
  const seconds = expiresIn(o);
  const iam = o['iam-endpoint'];
  checkUrl(iam, '--iam-endpoint');
  const materialFile = need(o['material-file'], '--material-file FILE');
  const outFile = resolve(need(o.out, '--out FILE'));
  if (outFile === resolve(materialFile)) throw new CliError('--out must not be the material file', 2);
  if (existsSync(outFile) && !o.force) throw new CliError(`${outFile} exists; give --force to replace it`, 2);
  if (!statSync(dirname(outFile), { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`the folder of ${outFile} does not exist`, 2);
  const material = readMaterial(materialFile, o['material-encoding']);
  let doc: Record<(typeof IMPORT_FILE_KEYS)[number] | 'import_token_expires_at', string>;
  const keyBits = material.length * 8;
  try {
    const key = apiKey(o);
    const client = new KeyProtectImportClient({ region: where.region, instanceId: where.instanceId, endpoint: where.endpoint, auth: { kind: 'apiKey', apiKey: key, iamEndpoint: iam } });
    let token;
    try {
      token = await client.freshImportToken({ expirationSeconds: seconds, maxAllowedRetrievals: 1 });
    } finally {
      await client.close();
    }
    if (Date.parse(token.expirationDate) <= Date.now()) {
      throw new CliError(`Key Protect's import token expired already (${token.expirationDate}): is this machine's clock right?`, 1);
    }
    const wrapped = secureImportPayload(token, material);
    doc = { root_key_material: wrapped.payload, root_key_encrypted_nonce: wrapped.encryptedNonce, root_key_iv: wrapped.iv, import_token_expires_at: token.expirationDate };
  } catch (err) {
    if (err instanceof WrapError) {
      throw new CliError(err.message, 1, { code: err.code, ...(err.details.status ? { status: err.details.status } : {}), ...(err.details.correlationId ? { correlationId: err.details.correlationId } : {}) });
    }
    throw err;
  } finally {
    material.fill(0);
  }
  writePrivate(outFile, `${JSON.stringify(doc, null, 2)}\n`, o.force);
  const shell = IMPORT_FILE_KEYS.map((k) => `export TF_VAR_${k}="$(jq -r .${k} ${shellWord(outFile, { always: true })})"`);
  const result = { file: outFile, instance: where.instanceId, keyBits, encryptionAlgorithm: SECURE_IMPORT_ALGORITHM, importTokenExpiresAt: doc.import_token_expires_at, shell };
  out.result(result, () =>
    [
      `wrote ${outFile} (mode 0600): ${keyBits}-bit root key material wrapped under the import token of Key Protect instance ${where.instanceId} (${SECURE_IMPORT_ALGORITHM})`,
      `the import token expires at ${doc.import_token_expires_at} (in about ${minutesFrom(Date.now(), doc.import_token_expires_at)} min): apply before then`,
      'give the values to Terraform (they are not printed here):',
      ...shell.map((l) => `  ${l}`),
      '(if the stack config renames materialVariable / encryptedNonceVariable / ivVariable, use those names)',
      `later plans of the stack still need the three variables, but any value does (the stack ignores changes to them once the key exists); once the token has expired ${outFile} is useless without Key Protect`,
    ].join('\n'),
  );
};

export const keyprotectCommands: Record<string, Command> = {
  'keyprotect import-prepare': importPrepare,
};
