/** The server configuration file (JSON). Every field is validated once at start; defaults are safe. */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const path = z.string().min(1);

/** The URL, or undefined when it is not one (refinements run even after .url() failed). */
function urlOf(u: string): URL | undefined {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}

/** https, or http only to this machine (a local Key Protect stand-in); credentials never cross a network in clear. */
const secureUrl = z
  .string()
  .url()
  .refine((u) => {
    const url = urlOf(u);
    return !url || url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
  }, 'must be an https URL (http only to 127.0.0.1)');

export const LimitsSchema = z
  .object({
    maxMessageSize: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    maxBatchItems: z.number().int().min(1).max(1000).default(64),
    maxDepth: z.number().int().min(8).max(64).default(24),
    maxConnections: z.number().int().min(1).max(100_000).default(2048),
    /** Connections of clients without a registered certificate kept at once; the oldest is closed for a new one. */
    maxUnauthenticatedConnections: z.number().int().min(1).max(100_000).default(64),
    handshakeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    idleTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    maxQueuedMessages: z.number().int().min(1).max(1024).default(16),
    maxLocateItems: z.number().int().min(1).max(100_000).default(1000),
    drainTimeoutMs: z.number().int().min(0).max(600_000).default(15_000),
  })
  .strict();

export const StoreSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sqlite'), path }).strict(),
  z
    .object({
      kind: z.literal('postgres'),
      /** postgres://user@host:port/db; DATABASE_URL is used when absent. */
      url: z.string().min(1).optional(),
      caFile: path.optional(),
      poolSize: z.number().int().min(1).max(200).default(10),
      statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      connectTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
    })
    .strict(),
]);

/**
 * The VPC instance metadata service: http only to its link-local address or its host name (traffic stays on
 * the host), https (when the instance's metadata_service.protocol is https: https://api.metadata.cloud.ibm.com),
 * or this machine (tests). A base URL: no path, query or credentials.
 */
const METADATA_HTTP_HOSTS = ['169.254.169.254', 'api.metadata.cloud.ibm.com', '127.0.0.1', 'localhost', '[::1]'];
const metadataUrl = z
  .string()
  .url()
  .refine((u) => {
    const url = urlOf(u);
    return !url || url.protocol === 'https:' || (url.protocol === 'http:' && METADATA_HTTP_HOSTS.includes(url.hostname));
  }, 'must be http://169.254.169.254, https://api.metadata.cloud.ibm.com or another https URL (http also to 127.0.0.1)')
  .refine((u) => {
    const url = urlOf(u);
    return !url || (url.pathname.replace(/\/+$/, '') === '' && url.search === '' && url.hash === '' && url.username === '' && url.password === '');
  }, 'must be a base URL without path, query or credentials');

/**
 * How the Key Protect client gets IAM tokens when not with an API key (apiKeyFile / apiKeyEnv):
 * `trustedProfile` is the VPC instance's compute resource identity, through the instance metadata service.
 */
export const WrapAuthSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('trustedProfile'),
      profileId: z.string().regex(/^Profile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a trusted profile ID such as Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5'),
      metadataEndpoint: metadataUrl.default('http://169.254.169.254'),
    })
    .strict(),
]);

export const WrapSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), keyFile: path }).strict(),
  z
    .object({
      kind: z.literal('keyprotect'),
      region: z.string().regex(/^[a-z]{2}-[a-z]+$/, 'must be a region such as us-south'),
      instanceId: z.string().uuid(),
      rootKeyId: z.string().min(1),
      endpoint: z.union([z.enum(['private', 'public']), secureUrl]).default('private'),
      iamEndpoint: secureUrl.default('https://iam.cloud.ibm.com'),
      apiKeyFile: path.optional(),
      apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
      auth: WrapAuthSchema.optional(),
      cacheSeconds: z.number().int().min(0).max(3600).default(60),
      requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
      maxAttempts: z.number().int().min(1).max(10).default(4),
    })
    .strict()
    // Checked even when other fields are wrong, so every problem is reported at once.
    .refine((w) => [w.apiKeyFile, w.apiKeyEnv, w.auth].filter((v) => v !== undefined).length === 1, {
      message: 'exactly one of apiKeyFile or apiKeyEnv (an API key) or auth (a trusted profile) is required',
      path: ['apiKeyFile'],
      when: () => true,
    }),
]);

/** Loopback only: 127.0.0.0/8, ::1 (bracketed or not, or IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.replace(/^::ffff:/, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The admin section would take a bearer token over plain HTTP from other machines. */
function plaintextTokenOnNetwork(a: unknown): boolean {
  const admin = (a ?? {}) as { enabled?: unknown; host?: unknown; tokenFile?: unknown; tls?: unknown; allowPlaintextToken?: unknown };
  if (admin.enabled === false || admin.tokenFile === undefined || admin.tls !== undefined || admin.allowPlaintextToken === true) return false;
  return !isLoopbackHost(typeof admin.host === 'string' ? admin.host : '127.0.0.1');
}

export const ServerConfigSchema = z
  .object({
    listen: z.object({ host: host.default('127.0.0.1'), port: port.default(5696) }).strict().default({ host: '127.0.0.1', port: 5696 }),
    /**
     * KMIP over HTTPS (KMIP Profiles "HTTPS"): POST /kmip with a TTLV, KMIP XML or KMIP JSON body, on
     * its own port, with the TLS settings and client-certificate rules of the KMIP port. Off by default.
     */
    https: z
      .object({ enabled: z.boolean().default(false), host: host.default('127.0.0.1'), port: port.default(5697) })
      .strict()
      .default({ enabled: false, host: '127.0.0.1', port: 5697 }),
    admin: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(9696),
        /** Bearer token for the management API (/v1/…), in a file. */
        tokenFile: path.optional(),
        /**
         * HTTPS on the admin port. With clientCaFile, a client certificate issued by that CA (keep it
         * for administrators only) authorizes the management API like the token does. Health and
         * metrics stay reachable without one, for load balancers and scrapers.
         */
        tls: z.object({ certFile: path, keyFile: path, clientCaFile: path.optional() }).strict().optional(),
        /**
         * How long a request may take from its first byte to its answer, body included; authorized
         * management calls (a restore streams for long) are exempt. Bounds slow senders.
         */
        requestTimeoutMs: z.number().int().min(500).max(600_000).default(30_000),
        /**
         * Accept a bearer token (tokenFile) on a non-loopback admin host without admin.tls. Off by
         * default and refused at start: the token, which grants the whole management API, would cross
         * the network in clear. Set it only when something else encrypts the path (a TLS-terminating
         * proxy on the same host, a tunnel); otherwise give admin.tls or bind admin.host to 127.0.0.1.
         */
        allowPlaintextToken: z.boolean().optional(),
      })
      .strict()
      // Checked even when other admin fields are wrong, so every problem is reported at once.
      .refine((a) => !plaintextTokenOnNetwork(a), {
        message:
          'a token-authenticated admin port on a non-loopback host needs admin.tls: the bearer token would cross the network in clear ' +
          '(give admin.tls, bind admin.host to 127.0.0.1, or set admin.allowPlaintextToken: true if something else encrypts the path)',
        path: ['tokenFile'],
        when: () => true,
      })
      .default({ enabled: true, host: '127.0.0.1', port: 9696, requestTimeoutMs: 30_000 }),
    teardown: z
      .object({ recentUseDays: z.number().min(0).max(3650).default(30) })
      .strict()
      .default({ recentUseDays: 30 }),
    tls: z
      .object({
        certFile: path,
        keyFile: path,
        /** CA certificates named in the CertificateRequest (a hint; trust is decided per registered certificate). */
        clientCaFile: path.optional(),
        sessionTimeoutSeconds: z.number().int().min(0).max(86_400).default(3600),
        /** 48 random bytes (file) shared by the nodes of a cluster so TLS sessions resume on any node. */
        ticketKeyFile: path.optional(),
      })
      .strict(),
    store: StoreSchema,
    wrap: WrapSchema,
    identity: z
      .object({ cacheSeconds: z.number().min(0).max(300).default(2), maxCacheEntries: z.number().int().min(1).max(1_000_000).default(10_000) })
      .strict()
      .default({ cacheSeconds: 2, maxCacheEntries: 10_000 }),
    limits: LimitsSchema.default(LimitsSchema.parse({})),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().default({ level: 'info' }),
  })
  .strict();

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;
