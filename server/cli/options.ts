/** kmipctl's flags and usage text, parsed once. */
import { parseArgs } from 'node:util';
import { CliError } from './client.js';

export const USAGE = `usage: kmipctl [connection] [--json] COMMAND

  tenant add NAME                       create a tenant (one key provider, usually one vCenter)
  tenant list                           tenants with their key counts per state
  tenant remove NAME [--force --confirm NAME]
                                        remove a tenant and destroy its keys; refused (exit 3) while
                                        any key is Pre-Active or Active or was fetched recently
  cert add --tenant NAME --pem FILE [--name LABEL] [--ca --subject SUBJECT]
                                        register a client certificate (pinned), or a CA plus subject
  cert list [--tenant NAME]             registered client certificates
  cert remove FINGERPRINT               unregister; the client is cut off at once
  keys list [--tenant NAME] [--state S] keys with state, dates, vCenter tags, last Get
  keys revoke ID --tenant NAME [--reason compromise|cessation|superseded|unspecified]
  keys destroy ID --tenant NAME         destroy a key's material (KMIP rules: not while Active)
  rewrap [--after ID]                   rewrap every key to the root key's current version (resumable)
  preflight-destroy [vcenter --provider NAME]
                                        exit 0 when tearing down is safe, 3 (with the reasons) when not;
                                        with the vcenter flags, also 3 while vCenter uses the provider, and 2
                                        (listing the providers it knows) for a name vCenter does not know
  backup export --out FILE [--force]    a consistent snapshot, encrypted with a passphrase
  backup import --in FILE               restore a backup into a server that holds no keys
  backup verify --in FILE               decrypt and check a backup without a server
  vcenter config SERVERS [--provider NAME] [--tenant NAME]
                                        what vCenter needs (name, servers, server CA), as vSphere Client
                                        steps, PowerCLI and govc commands; offline
  vcenter register vcenter SERVERS --tenant NAME --sign-ca-cert FILE --sign-ca-key FILE
         [--provider NAME] [--default] [--prune] [--expect-server-fingerprint SHA256[,...]]
                                        register every server as one Standard Key Provider and set up trust
                                        both ways (vCenter's CSR signed by the CA, its certificate pinned to
                                        the tenant); idempotent: a second run changes nothing
  vcenter usage vcenter --provider NAME
                                        the VMs, hosts, vSAN clusters and defaults that still use the
                                        provider (exit 0 once listed, whatever it finds)
  vcenter migrate vcenter --from OLD --to NEW [--plan | --apply | --verify | --retire-old]
         [--journal FILE] [--parallel N] [--accept-vm-restart-risk]
                                        move everything vCenter encrypted under another Standard Key Provider
                                        (IBM KMIP for VMware) onto ours by shallow rekeys, in VMware's safe
                                        order: --plan (default) reads only: what is ready and what is blocked,
                                        by reason (--json: every object with its preconditions); --apply rekeys, journaling each step to FILE (default
                                        kmip-migrate-VCHOST-OLD-to-NEW.journal), N at a time (default 4), and
                                        continues where it stopped when run again; --verify proves nothing
                                        references OLD (exit 4 while something does); --retire-old removes OLD
                                        from vCenter after a clean verify (docs/migrate-from-ibm-kmip-for-vmware.md)
  keyprotect import-prepare KEYPROTECT --material-file FILE --out FILE [--force]
         [--material-encoding raw|base64] [--expires-in SECONDS]
                                        secure import of your root key material: a fresh Key Protect import
                                        token (one retrieval, default 1800 s), the material wrapped under it,
                                        written to FILE (0600) for the stack's root_key_material,
                                        root_key_encrypted_nonce and root_key_iv variables; needs no KMIP server

connection (one of):
  --admin-url URL --token-file FILE     the server's admin port and management token
                                        (or KMIPCTL_ADMIN_URL, KMIPCTL_TOKEN_FILE)
  --admin-url https://… --client-cert FILE --client-key FILE [--server-ca FILE]
                                        an admin client certificate instead of (or with) the token
                                        (or KMIPCTL_CERT_FILE, KMIPCTL_KEY_FILE, KMIPCTL_CA_FILE)
  --dev [--data-dir DIR]                the running embedded default in DIR (default .kmip-dev)

SERVERS (one of):
  --stack NAME [--cdktf-out DIR]        the synthesized stack DIR/stacks/NAME/cdk.tf.json (default cdktf.out):
                                        outputs kmip_endpoints, kmip_server_ca_pem; provider name = NAME
  --endpoints [NAME=]HOST[:PORT],... --kmip-ca FILE --provider NAME
                                        the servers (port 5696 by default) and the CA that issued their
                                        certificates; unnamed servers are PROVIDER-1, PROVIDER-2, ...

vcenter (for vcenter register/usage/migrate and preflight-destroy):
  --vcenter https://HOST --vcenter-user USER --vcenter-password-file FILE
                                        (or KMIPCTL_VCENTER_USER, KMIPCTL_VCENTER_PASSWORD_FILE); the password
                                        is read from the file and never printed
  --vcenter-ca FILE                     the CA that issued vCenter's certificate (default: system roots)
  --insecure                            do not verify vCenter's certificate (labs only; prints a warning)
  --vcenter-api auto|json|soap          VI/JSON (8.0 Update 1+) or SOAP (7.0 Update 2/3); auto picks (default)

KEYPROTECT (for keyprotect import-prepare):
  --instance GUID|CRN [--region REGION] [--kp-endpoint public|private|URL]
                                        the Key Protect instance (a CRN names its region) and its endpoint
                                        (default public; an http:// URL only on loopback)
  --api-key-file FILE                   an IBM Cloud API key with Writer or Manager on the instance (or
                                        IBMCLOUD_API_KEY); read from the file, never printed
  --iam-endpoint URL                    IAM's token endpoint (default https://iam.cloud.ibm.com)
  --material-file FILE                  16, 24 or 32 bytes of key material, raw (default) or base64 with
                                        --material-encoding base64; refused (exit 3) if every user can read it

  --json                  machine-readable output (progress as JSON lines before the result)
  --passphrase-file FILE  backup passphrase, at least 12 characters (or KMIPCTL_BACKUP_PASSPHRASE)

exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety, 4 objects still use the old key provider`;

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
  help: { type: 'boolean', default: false },
} as const;

export function parseCli(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
  }
}

export type CliOptions = ReturnType<typeof parseCli>['values'];

export function need(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`${what} is required\n${USAGE}`, 2);
  return value;
}
