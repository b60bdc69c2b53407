/**
 * kmipctl's help: the whole text for `kmipctl --help`, and one command's part of it for
 * `kmipctl COMMAND --help`, built from the same entries so the two never drift apart.
 */
import { CLI_CODES } from './errors.js';

type Section = 'connection' | 'servers' | 'vcenter' | 'keyprotect' | 'passphrase';

interface Entry {
  /** The command's words, as typed. */
  readonly command: string;
  readonly text: string;
  /** The option sections the command uses, printed after it in its own help. */
  readonly sections: readonly Section[];
}

const ENTRIES: readonly Entry[] = [
  { command: 'tenant add', sections: ['connection'], text: `  tenant add NAME                       create a tenant (one key provider, usually one vCenter)` },
  { command: 'tenant list', sections: ['connection'], text: `  tenant list                           tenants with their key counts per state` },
  {
    command: 'tenant remove',
    sections: ['connection'],
    text: `  tenant remove NAME [--force --confirm NAME]
                                        remove a tenant and destroy its keys; refused (exit 3) while
                                        any key is Pre-Active or Active or was fetched recently`,
  },
  {
    command: 'cert add',
    sections: ['connection'],
    text: `  cert add --tenant NAME --pem FILE [--name LABEL] [--ca --subject SUBJECT]
                                        register a client certificate (pinned), or a CA plus subject`,
  },
  { command: 'cert list', sections: ['connection'], text: `  cert list [--tenant NAME]             registered client certificates` },
  { command: 'cert remove', sections: ['connection'], text: `  cert remove FINGERPRINT               unregister; the client is cut off at once` },
  {
    command: 'keys list',
    sections: ['connection'],
    text: `  keys list [--tenant NAME] [--state S] [--after ID]
                                        keys with state, dates, KMIP Name, vCenter tags, last Get; a page
                                        at a time: --after takes the ID the previous page ends with`,
  },
  { command: 'keys revoke', sections: ['connection'], text: `  keys revoke ID --tenant NAME [--reason compromise|cessation|superseded|unspecified]` },
  { command: 'keys destroy', sections: ['connection'], text: `  keys destroy ID --tenant NAME         destroy a key's material (KMIP rules: not while Active)` },
  {
    command: 'rewrap',
    sections: ['connection'],
    text: `  rewrap [--after ID]                   rewrap every key to the root key's current version (resumable:
                                        --after takes the object ID a stopped run printed)`,
  },
  {
    command: 'preflight-destroy',
    sections: ['connection', 'vcenter'],
    text: `  preflight-destroy [vcenter --provider NAME]
                                        exit 0 when tearing down is safe, 3 (with the reasons) when not;
                                        with the vcenter flags, also 3 while vCenter uses the provider, and 2
                                        (listing the providers it knows) for a name vCenter does not know`,
  },
  { command: 'backup export', sections: ['connection', 'passphrase'], text: `  backup export --out FILE [--force]    a consistent snapshot, encrypted with a passphrase` },
  { command: 'backup import', sections: ['connection', 'passphrase'], text: `  backup import --in FILE               restore a backup into a server that holds no keys` },
  { command: 'backup verify', sections: ['passphrase'], text: `  backup verify --in FILE               decrypt and check a backup without a server` },
  {
    command: 'vcenter config',
    sections: ['servers'],
    text: `  vcenter config SERVERS [--provider NAME] [--tenant NAME]
                                        what vCenter needs (name, servers, server CA), as vSphere Client
                                        steps, PowerCLI and govc commands; offline`,
  },
  {
    command: 'vcenter register',
    sections: ['connection', 'servers', 'vcenter'],
    text: `  vcenter register vcenter SERVERS --tenant NAME --sign-ca-cert FILE --sign-ca-key FILE
         [--provider NAME] [--default] [--prune] [--expect-server-fingerprint SHA256[,...]]
                                        register every server as one Standard Key Provider and set up trust
                                        both ways (vCenter's CSR signed by the CA, its certificate pinned to
                                        the tenant); idempotent: a second run changes nothing`,
  },
  {
    command: 'vcenter usage',
    sections: ['vcenter', 'connection'],
    text: `  vcenter usage vcenter --provider NAME [--publish]
                                        the VMs, hosts, vSAN clusters and defaults that still use the
                                        provider (exit 0 once listed, whatever it finds); with --publish
                                        (and a connection) also shown on the server's status page`,
  },
  {
    command: 'vcenter migrate',
    sections: ['vcenter'],
    text: `  vcenter migrate vcenter --from OLD --to NEW [--plan | --apply | --verify | --retire-old]
         [--journal FILE] [--parallel N] [--accept-vm-restart-risk]
                                        move everything vCenter encrypted under another Standard Key Provider
                                        (IBM KMIP for VMware) onto ours by shallow rekeys, in VMware's safe
                                        order: --plan (default) reads only: what is ready and what is blocked,
                                        by reason (--json: every object with its preconditions); --apply rekeys, journaling each step to FILE (default
                                        kmip-migrate-VCHOST-OLD-to-NEW.journal), N at a time (default 4), and
                                        continues where it stopped when run again; --verify proves nothing
                                        references OLD (exit 4 while something does); --retire-old removes OLD
                                        from vCenter after a clean verify (docs/migrate-from-ibm-kmip-for-vmware.md)`,
  },
  {
    command: 'keyprotect import-prepare',
    sections: ['keyprotect'],
    text: `  keyprotect import-prepare KEYPROTECT --material-file FILE --out FILE [--force]
         [--material-encoding raw|base64] [--expires-in SECONDS]
                                        secure import of your root key material: a fresh Key Protect import
                                        token (one retrieval, default 1800 s), the material wrapped under it,
                                        written to FILE (0600) for the stack's root_key_material,
                                        root_key_encrypted_nonce and root_key_iv variables; needs no KMIP server`,
  },
];

const SECTIONS: Record<Section, string> = {
  connection: `connection (one of):
  --admin-url URL --token-file FILE [--server-ca FILE]
                                        the server's admin port and management token; --server-ca for
                                        an https:// admin port whose certificate a private CA issued
                                        (or KMIPCTL_ADMIN_URL, KMIPCTL_TOKEN_FILE, KMIPCTL_CA_FILE)
  --admin-url https://… --client-cert FILE --client-key FILE [--server-ca FILE]
                                        an admin client certificate instead of (or with) the token
                                        (or KMIPCTL_CERT_FILE, KMIPCTL_KEY_FILE, KMIPCTL_CA_FILE)
  --dev [--data-dir DIR]                the running embedded default in DIR (default .kmip-dev)`,
  servers: `SERVERS (one of):
  --stack NAME [--cdktf-out DIR]        the synthesized stack DIR/stacks/NAME/cdk.tf.json (default cdktf.out):
                                        outputs kmip_endpoints, kmip_server_ca_pem; provider name = NAME
  --endpoints [NAME=]HOST[:PORT],... --kmip-ca FILE --provider NAME
                                        the servers (port 5696 by default) and the CA that issued their
                                        certificates; unnamed servers are PROVIDER-1, PROVIDER-2, ...`,
  vcenter: `vcenter (for vcenter register/usage/migrate and preflight-destroy):
  --vcenter https://HOST --vcenter-user USER --vcenter-password-file FILE
                                        (or KMIPCTL_VCENTER_USER, KMIPCTL_VCENTER_PASSWORD_FILE); the password
                                        is read from the file and never printed
  --vcenter-ca FILE                     the CA that issued vCenter's certificate (default: system roots)
  --insecure                            do not verify vCenter's certificate (labs only; prints a warning)
  --vcenter-api auto|json|soap          VI/JSON (8.0 Update 1+) or SOAP (7.0 Update 2/3); auto picks (default)`,
  keyprotect: `KEYPROTECT (for keyprotect import-prepare):
  --instance GUID|CRN [--region REGION] [--kp-endpoint public|private|URL]
                                        the Key Protect instance (a CRN names its region) and its endpoint
                                        (default public; an http:// URL only on loopback)
  --api-key-file FILE                   an IBM Cloud API key with Writer or Manager on the instance (or
                                        IBMCLOUD_API_KEY); read from the file, never printed
  --iam-endpoint URL                    IAM's token endpoint (default https://iam.cloud.ibm.com)
  --material-file FILE                  16, 24 or 32 bytes of key material, raw (default) or base64 with
                                        --material-encoding base64; refused (exit 3) if every user can read it`,
  passphrase: `  --passphrase-file FILE  backup passphrase, at least 12 characters (or KMIPCTL_BACKUP_PASSPHRASE)`,
};

const COMMON = `  --json                  machine-readable output (progress as JSON lines before the result); an error is
                          one line {"error": "…", "code": "…"} on stdout
  --help                  this text; kmipctl COMMAND --help for one command`;

const EXIT_CODES = `exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety, 4 objects still use the old key provider`;

const ERROR_CODES = `error codes (--json "code"; the exit code follows from it):
${Object.entries(CLI_CODES)
  .map(([code, c]) => `  ${code.padEnd(16)}${c.exit}  ${c.meaning}`)
  .join('\n')}`;

export const USAGE = [
  'usage: kmipctl [connection] [--json] COMMAND',
  '',
  ENTRIES.map((e) => e.text).join('\n'),
  '',
  SECTIONS.connection,
  '',
  SECTIONS.servers,
  '',
  SECTIONS.vcenter,
  '',
  SECTIONS.keyprotect,
  '',
  COMMON,
  SECTIONS.passphrase,
  '',
  EXIT_CODES,
  '',
  ERROR_CODES,
].join('\n');

/** The commands whose words start with `words` (one group such as "backup", or one command). */
function matching(words: readonly string[]): Entry[] {
  for (let n = Math.min(words.length, 2); n >= 1; n--) {
    const prefix = words.slice(0, n).join(' ');
    const found = ENTRIES.filter((e) => e.command === prefix || e.command.startsWith(`${prefix} `));
    if (found.length) return found;
  }
  return [];
}

/** The help for `kmipctl WORDS --help`: that command's (or group's) entries and options, or undefined for no command. */
export function commandUsage(words: readonly string[]): string | undefined {
  const entries = matching(words);
  if (!entries.length) return undefined;
  const sections = [...new Set(entries.flatMap((e) => e.sections))].filter((s) => s !== 'passphrase');
  const usesPassphrase = entries.some((e) => e.sections.includes('passphrase'));
  return [
    `usage: kmipctl ${entries.some((e) => e.sections.includes('connection')) ? '[connection] ' : ''}[--json] ${entries.length === 1 ? entries[0]!.command : words[0]} …`,
    '',
    entries.map((e) => e.text).join('\n'),
    ...sections.flatMap((s) => ['', SECTIONS[s]]),
    '',
    COMMON,
    ...(usesPassphrase ? [SECTIONS.passphrase] : []),
    '',
    EXIT_CODES,
    'error codes: kmipctl --help',
  ].join('\n');
}

/** The command line that gives help for the command being run (or all of it). */
export function helpHint(words: readonly string[]): string {
  const entries = matching(words);
  const command = entries.length === 1 ? entries[0]!.command : entries.length ? words[0] : undefined;
  return command ? `run 'kmipctl ${command} --help' (or 'kmipctl --help')` : `run 'kmipctl --help' (or 'kmipctl <command> --help')`;
}
