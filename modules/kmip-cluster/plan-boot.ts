/**
 * Pure rendering of what boots a KMIP node (no cdktf, no provider): the server's configuration file, the
 * hardened systemd units, the asset fetcher and the cloud-config user data that ties them together.
 *
 * IBM VPC user data is limited to 64 KiB and the server bundle is about 1.6 MB, so the user data carries only
 * the small files and a manifest of assets (the bundle, the node's TLS certificate and key, the cluster's
 * TLS ticket keys, the admin CA certificate) with the SHA-256 of each. `kmip-assets.service` downloads them from the stack's IBM Cloud
 * Object Storage bucket over the direct (private) endpoint with an IAM token of the node's trusted profile
 * (from the instance metadata service: no API key exists anywhere) and installs a file only when its hash
 * matches the one pinned here. It retries with backoff until every asset is in place (a mismatch is refused
 * each time and retried slowly, so a corrected object recovers the node without anyone logging in);
 * `kmip.service` verifies the pinned hashes on disk before every start, fails visibly while they do not
 * match, and restarts until they do. The check runs again at every boot.
 *
 * Values only known at apply time (the trusted profile id, database credentials, a new Key Protect instance id) arrive
 * as cdktf token strings; they are placed in JSON strings and must be JSON-safe (UUIDs, base64, URL-encoded
 * text). Literal text here never contains Terraform template sequences ("${" or "%{").
 */

export const USER_DATA_LIMIT_BYTES = 64 * 1024;
export const KMIP_PORT = 5696;
export const ADMIN_PORT = 9696;
export const MIN_NODE_VERSION = '20.18.0';

export const PATHS = Object.freeze({
  bundle: '/opt/kmip/kmip-server.mjs',
  fetcher: '/opt/kmip/fetch-assets.mjs',
  config: '/etc/kmip/server.json',
  manifest: '/etc/kmip/assets.json',
  dbCa: '/etc/kmip/db-ca.pem',
  cert: '/etc/kmip/tls/server-cert.pem',
  key: '/etc/kmip/tls/server-key.pem',
  ticketKeys: '/etc/kmip/tls/ticket-keys.bin',
  /** The admin CA certificate (never its key): client certificates it issued may use the management API. */
  adminCa: '/etc/kmip/tls/admin-ca.pem',
  serverUnit: '/etc/systemd/system/kmip.service',
  assetsUnit: '/etc/systemd/system/kmip-assets.service',
});

export const SERVICE_USER = 'kmip';

export interface KeyProtectTarget {
  readonly region: string;
  /** Key Protect instance GUID (a UUID), or a token resolving to one. */
  readonly instanceId: string;
  /** Root key id, or a token resolving to one. */
  readonly rootKeyId: string;
  /** @default "private" */
  readonly endpoint?: 'private' | 'public';
  /** @default 60 */
  readonly cacheSeconds?: number;
}

export interface ServerConfigParams {
  readonly nodeIp: string;
  readonly keyProtect: KeyProtectTarget;
  /** IAM trusted profile id the node authenticates as (a token: `Profile-…`). */
  readonly trustedProfileId: string;
  /** postgres:// URL (JSON-safe: URL-encoded user and password), usually a token. */
  readonly databaseUrl: string;
  /** @default 10 */
  readonly databasePoolSize?: number;
  /** @default "info" */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Seconds a client registration change takes to reach this node. @default 2 */
  readonly identityCacheSeconds?: number;
  /** @default 2048 */
  readonly maxConnections?: number;
}

/**
 * The VPC instance metadata service, link-local and reachable only from the instance itself (hop limit 1): it
 * issues the instance identity token that becomes an IAM token of the node's trusted profile.
 */
export const METADATA_ENDPOINT = 'http://169.254.169.254';
export const METADATA_API_VERSION = '2022-03-01';

/**
 * Where an operator (kmipctl --admin-url) reaches a node's admin port. HTTPS with the node's own server
 * certificate, which names the node's address, so kmipctl verifies it against the stack's server CA.
 */
export function adminEndpoint(nodeIp: string): string {
  return `https://${nodeIp}:${ADMIN_PORT}`;
}

/**
 * The server's production configuration (server/config/schema.ts) for one node.
 *
 * The admin port speaks HTTPS with the node's KMIP server certificate and asks for a client certificate
 * from the stack's admin CA: such a certificate (kept on the operator's machine, issued by `npm run pki`)
 * authorizes the management API, so kmipctl works against the region without a token on the node.
 * /healthz, /readyz and /metrics stay open without one (HTTPS), for the load balancer's health checks.
 */
export function renderServerConfig(p: ServerConfigParams): Record<string, unknown> {
  return {
    listen: { host: '0.0.0.0', port: KMIP_PORT },
    admin: { enabled: true, host: p.nodeIp, port: ADMIN_PORT, tls: { certFile: PATHS.cert, keyFile: PATHS.key, clientCaFile: PATHS.adminCa } },
    tls: { certFile: PATHS.cert, keyFile: PATHS.key, ticketKeyFile: PATHS.ticketKeys, sessionTimeoutSeconds: 3600 },
    store: {
      kind: 'postgres',
      url: p.databaseUrl,
      caFile: PATHS.dbCa,
      poolSize: p.databasePoolSize ?? 10,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5_000,
    },
    wrap: {
      kind: 'keyprotect',
      region: p.keyProtect.region,
      instanceId: p.keyProtect.instanceId,
      rootKeyId: p.keyProtect.rootKeyId,
      endpoint: p.keyProtect.endpoint ?? 'private',
      auth: { kind: 'trustedProfile', profileId: p.trustedProfileId, metadataEndpoint: METADATA_ENDPOINT },
      cacheSeconds: p.keyProtect.cacheSeconds ?? 60,
    },
    identity: { cacheSeconds: p.identityCacheSeconds ?? 2 },
    limits: { maxConnections: p.maxConnections ?? 2048, drainTimeoutMs: 15_000 },
    log: { level: p.logLevel ?? 'info' },
  };
}

export interface Asset {
  /** Object key in the bucket (content-addressed: it contains the hash). */
  readonly key: string;
  readonly sha256: string;
  /** Its exact size: a download is cut off past it (nothing unbounded reaches the node's memory). */
  readonly bytes: number;
  /** Where the node installs it. */
  readonly path: string;
  readonly mode: '0644' | '0640' | '0600';
  readonly owner: string;
  readonly group: string;
}

export interface AssetManifest {
  /** https://s3.direct.<region>.cloud-object-storage.appdomain.cloud */
  readonly endpoint: string;
  readonly bucket: string;
  /** The instance metadata service (METADATA_ENDPOINT; a loopback stand-in in tests). */
  readonly metadataEndpoint: string;
  /** Trusted profile whose IAM token reads the bucket (a token at synth time). */
  readonly trustedProfileId: string;
  readonly assets: readonly Asset[];
}

export function cosDirectEndpoint(region: string): string {
  return `https://s3.direct.${region}.cloud-object-storage.appdomain.cloud`;
}

/** The systemd unit that runs the server, locked down to what a Node.js TLS server needs. */
export function renderServerUnit(): string {
  return [
    '[Unit]',
    'Description=KMIP key server (kmip-for-vmware)',
    'Documentation=file:///etc/kmip/server.json',
    'Wants=network-online.target kmip-assets.service',
    'After=network-online.target kmip-assets.service',
    // Never give up: a node waiting for a corrected asset must start by itself once it is there.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    // "+": runs as root outside the sandbox, because it reads the root-only manifest. Offline: it only hashes
    // what is on disk, so the server never starts on files that are not the pinned ones, and the unit shows failed.
    `ExecStartPre=+/usr/bin/node ${PATHS.fetcher} --verify-only ${PATHS.manifest}`,
    `ExecStart=/usr/bin/node ${PATHS.bundle} --config ${PATHS.config}`,
    'Environment=NODE_ENV=production',
    'Restart=on-failure',
    'RestartSec=10',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'LimitNOFILE=65536',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'ProcSubset=pid',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged @mount @debug @cpu-emulation @obsolete',
    'SystemCallErrorNumber=EPERM',
    'ReadOnlyPaths=/etc/kmip /opt/kmip',
    'InaccessiblePaths=-/root -/home',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Installs Debian's nodejs when it is missing (a failed install fails the unit, which systemd retries). */
export const NODE_INSTALL = 'test -x /usr/bin/node || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs; }';

/** Exit codes of the asset fetcher (FETCH_ASSETS_SCRIPT). */
export const FETCH_EXIT = Object.freeze({ nodeTooOld: 3, hashMismatch: 4, downloadFailed: 5, notInstalled: 6 });

/**
 * The one-shot unit that installs the hash-checked assets before the server starts (every boot). It is
 * restarted on failure with a growing delay (10 s up to 5 min) for as long as it takes, except when the
 * Node.js on the image is too old, which no retry can fix.
 */
export function renderAssetsUnit(): string {
  return [
    '[Unit]',
    'Description=Fetch and verify the KMIP server assets (bundle, TLS material) pinned in user data',
    'Wants=network-online.target',
    'After=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    // cloud-init installs Node.js once, at first boot; a mirror that failed then must not leave the node without it
    // for good. "+": outside the sandbox, which keeps /usr read-only.
    `ExecStartPre=+/bin/sh -c "${NODE_INSTALL}"`,
    `ExecStart=/usr/bin/node ${PATHS.fetcher} ${PATHS.manifest}`,
    'Restart=on-failure',
    'RestartSec=10',
    'RestartSteps=5',
    'RestartMaxDelaySec=300',
    `RestartPreventExitStatus=${FETCH_EXIT.nodeTooOld}`,
    'TimeoutStartSec=900',
    'NoNewPrivileges=yes',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    'ReadWritePaths=/opt/kmip /etc/kmip',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/**
 * The asset fetcher (plain Node.js 20, no dependencies). `fetch-assets.mjs MANIFEST` downloads what is missing
 * or differs; `fetch-assets.mjs --verify-only MANIFEST` only checks the files on disk (exit 6 when one is
 * missing or differs). Exit codes: FETCH_EXIT. A few tries per run; systemd runs it again after a failure.
 * Written without template literals so it never contains "${".
 */
export const FETCH_ASSETS_SCRIPT = `// Installed by cloud-init (kmip-for-vmware). Fetches the assets listed in the manifest and installs each
// only when its SHA-256 matches the pinned value. Never prints a token.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const MIN = '${MIN_NODE_VERSION}'.split('.').map(Number);
const have = process.versions.node.split('.').map(Number);
if (have[0] < MIN[0] || (have[0] === MIN[0] && have[1] < MIN[1])) {
  console.error('kmip-assets: Node.js ' + process.versions.node + ' is too old; the server needs ' + MIN.join('.') + ' or later');
  process.exit(${FETCH_EXIT.nodeTooOld});
}
const verifyOnly = process.argv[2] === '--verify-only';
const manifest = JSON.parse(readFileSync(process.argv[verifyOnly ? 3 : 2], 'utf8'));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const ids = (file, name) => {
  const line = readFileSync(file, 'utf8').split('\\n').find((l) => l.split(':')[0] === name);
  if (!line) throw new Error('unknown user or group ' + name);
  return Number(line.split(':')[2]);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TRIES = 4;
// Seconds between tries within one run, doubled each time (an override exists for tests only).
const BACKOFF_MS = Number(process.env.KMIP_ASSETS_BACKOFF_MS) > 0 ? Number(process.env.KMIP_ASSETS_BACKOFF_MS) : 1000;

const missing = manifest.assets.filter((a) => !(existsSync(a.path) && sha256(readFileSync(a.path)) === a.sha256));
if (verifyOnly) {
  for (const a of missing) console.error('kmip-assets: ' + a.path + ' is missing or is not the pinned ' + a.sha256);
  if (missing.length > 0) process.exit(${FETCH_EXIT.notInstalled});
  console.log('kmip-assets: ' + manifest.assets.length + ' assets verified on disk');
  process.exit(0);
}

async function withRetry(what, fn) {
  let last;
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      console.error('kmip-assets: ' + what + ' failed (attempt ' + attempt + '/' + TRIES + '): ' + err.message);
      if (attempt < TRIES) await sleep(BACKOFF_MS * 2 ** attempt);
    }
  }
  console.error('kmip-assets: ' + what + ' failed ' + TRIES + ' times (' + last.message + '); systemd tries again later');
  process.exit(${FETCH_EXIT.downloadFailed});
}

async function json(res, what) {
  if (!res.ok) throw new Error(what + ' answered ' + res.status);
  const doc = await res.json();
  if (typeof doc.access_token !== 'string' || doc.access_token === '') throw new Error(what + ' gave no access_token');
  return doc.access_token;
}

// Instance identity token from the metadata service, exchanged there for an IAM token of the trusted profile.
async function token() {
  const base = manifest.metadataEndpoint + '/instance_identity/v1/';
  const query = '?version=${METADATA_API_VERSION}';
  const identity = await json(
    await fetch(base + 'token' + query, {
      method: 'PUT',
      headers: { 'metadata-flavor': 'ibm', 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ expires_in: 300 }),
      signal: AbortSignal.timeout(30000),
    }),
    'the metadata service (instance identity token)',
  );
  return json(
    await fetch(base + 'iam_token' + query, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + identity, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ trusted_profile: { id: manifest.trustedProfileId } }),
      signal: AbortSignal.timeout(30000),
    }),
    'the metadata service (IAM token)',
  );
}

let refused = 0;
if (missing.length > 0) {
  const bearer = await withRetry('IAM token', token);
  for (const a of missing) {
    const url = manifest.endpoint + '/' + manifest.bucket + '/' + a.key.split('/').map(encodeURIComponent).join('/');
    const bytes = await withRetry('download of ' + a.key, async () => {
      const res = await fetch(url, { headers: { authorization: 'Bearer ' + bearer }, signal: AbortSignal.timeout(120000) });
      if (!res.ok) throw new Error('object storage answered ' + res.status);
      // Never more than the pinned size in memory: a longer object is cut off and then fails its hash.
      const chunks = [];
      let total = 0;
      for await (const chunk of res.body) {
        total += chunk.length;
        if (total > a.bytes) {
          await res.body.cancel().catch(() => {});
          return null;
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    });
    const got = bytes === null ? 'of an object larger than the pinned ' + a.bytes + ' bytes' : sha256(bytes);
    if (got !== a.sha256) {
      console.error('kmip-assets: REFUSED ' + a.key + ': SHA-256 ' + got + ' is not the pinned ' + a.sha256);
      refused++;
      continue;
    }
    mkdirSync(dirname(a.path), { recursive: true, mode: 0o755 });
    const tmp = a.path + '.part';
    writeFileSync(tmp, bytes, { mode: 0o600 });
    chownSync(tmp, ids('/etc/passwd', a.owner), ids('/etc/group', a.group));
    chmodSync(tmp, parseInt(a.mode, 8));
    renameSync(tmp, a.path);
    console.log('kmip-assets: installed ' + a.path + ' (sha256 ' + got + ')');
  }
}
if (refused > 0) process.exit(${FETCH_EXIT.hashMismatch});
console.log('kmip-assets: ' + manifest.assets.length + ' assets verified');
`;

export interface CloudConfigParams {
  readonly serverConfig: Record<string, unknown>;
  readonly manifest: AssetManifest;
  /** Base64 of the database CA certificate PEM (a token). */
  readonly databaseCaBase64: string;
}

/**
 * The cloud-config document. It is written as JSON, which is YAML (cloud-init reads it with a YAML parser),
 * so the stack's token strings can be placed without any YAML quoting rules.
 */
export function renderCloudConfig(p: CloudConfigParams): string {
  const owned = (path: string, content: string, permissions: string, owner = 'root:root', extra: Record<string, unknown> = {}) => ({
    path,
    content,
    owner,
    permissions,
    defer: true,
    ...extra,
  });
  const doc = {
    package_update: true,
    packages: ['nodejs', 'ca-certificates'],
    users: ['default', { name: SERVICE_USER, system: true, shell: '/usr/sbin/nologin', no_create_home: true, lock_passwd: true }],
    write_files: [
      owned(PATHS.config, `${JSON.stringify(p.serverConfig, null, 2)}\n`, '0640', `root:${SERVICE_USER}`),
      owned(PATHS.dbCa, p.databaseCaBase64, '0644', 'root:root', { encoding: 'b64' }),
      owned(PATHS.manifest, `${JSON.stringify(p.manifest, null, 2)}\n`, '0600'),
      owned(PATHS.fetcher, FETCH_ASSETS_SCRIPT, '0755'),
      owned(PATHS.assetsUnit, renderAssetsUnit(), '0644'),
      owned(PATHS.serverUnit, renderServerUnit(), '0644'),
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'kmip-assets.service', 'kmip.service'],
      ['systemctl', 'start', '--no-block', 'kmip.service'],
    ],
  };
  const text = `#cloud-config\n${JSON.stringify(doc, null, 1)}\n`;
  const literal = text.replace(/\$\{TfToken\[[A-Z0-9_.]+\]\}/g, '');
  if (literal.includes('${') || literal.includes('%{')) throw new Error('user data literal text must not contain Terraform template sequences');
  return text;
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
