/** kmipctl's flags, parsed once. */
import { parseArgs } from 'node:util';
import { parseArgsMessage } from '../util/parse-args-message.js';
import { CliError } from './errors.js';

const OPTIONS = {
  'admin-url': { type: 'string' },
  'token-file': { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  'server-ca': { type: 'string' },
  dev: { type: 'boolean', default: false },
  'data-dir': { type: 'string', default: '.kmip-dev' },
  json: { type: 'boolean', default: false },
  tenant: { type: 'string' },
  pem: { type: 'string' },
  name: { type: 'string' },
  ca: { type: 'boolean', default: false },
  subject: { type: 'string' },
  state: { type: 'string' },
  reason: { type: 'string' },
  after: { type: 'string' },
  force: { type: 'boolean', default: false },
  confirm: { type: 'string' },
  out: { type: 'string' },
  in: { type: 'string' },
  'passphrase-file': { type: 'string' },
  vcenter: { type: 'string' },
  'vcenter-user': { type: 'string' },
  'vcenter-password-file': { type: 'string' },
  'vcenter-ca': { type: 'string' },
  'vcenter-api': { type: 'string', default: 'auto' },
  insecure: { type: 'boolean', default: false },
  provider: { type: 'string' },
  stack: { type: 'string' },
  'cdktf-out': { type: 'string', default: 'cdktf.out' },
  endpoints: { type: 'string' },
  'kmip-ca': { type: 'string' },
  'sign-ca-cert': { type: 'string' },
  'sign-ca-key': { type: 'string' },
  default: { type: 'boolean', default: false },
  prune: { type: 'boolean', default: false },
  'expect-server-fingerprint': { type: 'string' },
  instance: { type: 'string' },
  region: { type: 'string' },
  'kp-endpoint': { type: 'string', default: 'public' },
  'iam-endpoint': { type: 'string', default: 'https://iam.cloud.ibm.com' },
  'api-key-file': { type: 'string' },
  'material-file': { type: 'string' },
  'material-encoding': { type: 'string', default: 'raw' },
  'expires-in': { type: 'string', default: '1800' },
  from: { type: 'string' },
  to: { type: 'string' },
  plan: { type: 'boolean', default: false },
  apply: { type: 'boolean', default: false },
  verify: { type: 'boolean', default: false },
  'retire-old': { type: 'boolean', default: false },
  journal: { type: 'string' },
  parallel: { type: 'string', default: '4' },
  'accept-vm-restart-risk': { type: 'boolean', default: false },
  publish: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export function parseCli(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new CliError(parseArgsMessage(err), 2);
  }
}

export type CliOptions = ReturnType<typeof parseCli>['values'];

export function need(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`${what} is required`, 2);
  return value;
}

/**
 * An object's Unique Identifier as the server makes them (a UUID, server/app.ts newUid), the cursor
 * that `rewrap --after` and `keys list --after` continue from. Checked here so a mistyped cursor is a
 * usage error instead of a run that silently starts after the wrong place (or does nothing).
 */
const OBJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function afterCursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!OBJECT_ID.test(value)) {
    throw new CliError(`--after takes an object ID (a UUID such as 0190f0c4-7c1e-7a2b-9d3e-5f6a7b8c9d0e, as printed by the run that stopped), got ${JSON.stringify(value)}`, 2);
  }
  return value.toLowerCase();
}
