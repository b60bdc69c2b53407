/**
 * One synthesized stack's nodes booted on this machine, with everything they reach standing in locally: the
 * instance metadata service (trusted-profile IAM tokens), Key Protect, Cloud Object Storage holding the stack's
 * own asset objects, PostgreSQL with TLS on a port of its own (its certificate names only 127.0.0.1, which the
 * nodes verify: verify-full by IP address), and apt's way to Debian's archive. Each node is reached from the
 * test through host ports relayed to its 5696 and its admin port (which binds the node's VPC address).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { App } from 'cdktf';
import pg from 'pg';
import { ADMIN_PORT, KMIP_PORT } from '../../../modules/kmip-cluster/plan-boot.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { buildStacks } from '../../../stacks/kmip-stack.js';
import { pkiPaths } from '../../../stacks/pki.js';
import { exampleConfig } from '../cdktf-fixtures.js';
import { FakeCos } from '../fake-cos.js';
import { FakeKeyProtect } from '../fake-keyprotect.js';
import { FakeMetadataService } from '../fake-metadata-service.js';
import { TestKmipClient } from '../kmip-client.js';
import { createTestPki, type TestClientCert, type TestPki } from '../pki.js';
import { createPrivatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { notePrivateKeyPem, noteSecret } from '../secrets-ledger.js';
import { startAptProxy, type AptProxy } from './apt-proxy.js';
import { BootedNode, METADATA_LINK_LOCAL } from './boot-node.js';
import { nodeUserData, readSynthesizedStack, type ApplyTimeValues, type SynthesizedStack } from './node-seed.js';
import { ensureRootfs } from './rootfs.js';
import { PG_CLUSTER_PREFIX, SYNTH_PREFIX, sweepStaleBoots } from './sweep.js';

/** The example config's stack the boot tests use: two zones, its own Key Protect instance. */
export const BOOT_STACK = 'kmip-dev-us-east';

/** A node's services, in the order BootStack.boot gives them (BootOptions.services): index 2 is the database. */
const DATABASE_SERVICE = 2;

export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class KmipNode {
  constructor(
    readonly zone: string,
    readonly ip: string,
    readonly booted: BootedNode,
    private readonly stack: BootStack,
  ) {}

  get kmipPort(): number {
    return this.booted.hostPorts[0]!;
  }
  get adminPort(): number {
    return this.booted.hostPorts[1]!;
  }

  /** The node's TLS identity is its VPC address: verify it as that, whatever host port carries the bytes. */
  private verifyAsNode = (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(this.ip, cert);

  /** A call to the management API, authenticated with the stack's admin client certificate. */
  admin(method: string, path: string, body?: unknown): Promise<AdminAnswer> {
    const p = this.stack.pki;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.adminPort,
          method,
          path,
          ca: readFileSync(p.caCert),
          cert: readFileSync(p.adminClientCert),
          key: readFileSync(p.adminClientKey),
          checkServerIdentity: this.verifyAsNode,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          timeout: 10_000,
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('admin request timed out')));
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** /readyz as the load balancer's health check sees it (undefined when nothing answers). */
  async readyz(): Promise<AdminAnswer | undefined> {
    return this.admin('GET', '/readyz').catch(() => undefined);
  }

  /** A KMIP connection with a client certificate, verifying the node's certificate against the stack's CA. */
  kmip(client: TestClientCert): Promise<TestKmipClient> {
    return TestKmipClient.connect(this.kmipPort, { ca: readFileSync(this.stack.pki.caCert), cert: client.certificatePem, key: client.privateKeyPem, checkServerIdentity: this.verifyAsNode });
  }

  /** The client ports of this node's open database connections, as PostgreSQL sees them (the host relay's side). */
  databaseClientPorts(): number[] {
    return this.booted.serviceClientPorts(DATABASE_SERVICE);
  }

  dispose(): Promise<void> {
    return this.booted.dispose();
  }
}

/**
 * The database's certificate chain and key: from the test's CA, naming one IP address and nothing else (no
 * "localhost"), so a session that verifies proves the client checked the address it dialled.
 */
function databaseTls(testPki: TestPki, ip: string): { certPem: string; keyPem: string } {
  const cert = issueCertificate({ commonName: 'database', extendedKeyUsage: ['serverAuth'], ipAddresses: [ip] }, testPki.ca);
  notePrivateKeyPem('database server private key', cert.privateKeyPem);
  return { certPem: cert.certificatePem + testPki.ca.certificatePem, keyPem: cert.privateKeyPem };
}

/** Runs clean-up steps last first, each whatever the others did; returns what failed. */
async function unwind(steps: Array<() => unknown>): Promise<string[]> {
  const problems: string[] = [];
  for (const step of steps.splice(0).reverse()) {
    try {
      await step();
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}

export class BootStack {
  readonly kp = new FakeKeyProtect();
  readonly metadata: FakeMetadataService;
  readonly cos: FakeCos;
  readonly values: ApplyTimeValues;
  readonly pki: ReturnType<typeof pkiPaths>;
  /** Every boot, from the moment it starts: dispose() waits for those still under way, so none is left running. */
  private readonly booting: Array<Promise<KmipNode>> = [];
  private disposed = false;

  private constructor(
    readonly stack: SynthesizedStack,
    readonly rootfs: string,
    readonly postgres: PrivatePostgres,
    readonly testPki: TestPki,
    readonly apt: AptProxy,
    pkiDir: string,
    /** What create() set up, undone last first by dispose(). */
    private readonly undo: Array<() => unknown>,
  ) {
    this.metadata = new FakeMetadataService(this.kp);
    const instance = this.kp.addInstance();
    const profile = this.metadata.linkProfile();
    this.cos = new FakeCos(this.kp, new Set([`iam-${profile}`]));
    this.pki = pkiPaths(pkiDir, stack.name);
    this.values = {
      trustedProfileId: profile,
      keyProtectInstanceId: instance,
      rootKeyId: this.kp.createRootKey(instance, `${stack.name}-crk`),
      database: { user: 'postgres', password: `unused-${randomUUID()}`, host: '127.0.0.1', port: postgres.port, name: 'kmip_boot', caPem: testPki.ca.certificatePem },
    };
    // What the nodes carry that must never show in what the suite prints (their consoles and journals included).
    noteSecret('database password in the user data', this.values.database.password);
    for (const file of [...stack.nodes.map((n) => this.pki.nodeKey(n.zone)), this.pki.adminClientKey, this.pki.caKey, this.pki.adminCaKey]) {
      if (existsSync(file)) notePrivateKeyPem(`stack key ${basename(file)}`, readFileSync(file, 'utf8'));
    }
    if (existsSync(this.pki.ticketKeys)) noteSecret('TLS ticket keys', readFileSync(this.pki.ticketKeys));
  }

  /**
   * Builds (or reuses) the root filesystem, synthesizes the example stacks and starts every stand-in. The
   * build gets at most `rootfsTimeoutMs`. A failure undoes whatever was already set up before it is thrown.
   */
  static async create(log: (line: string) => void = () => undefined, options: { rootfsTimeoutMs?: number } = {}): Promise<BootStack> {
    await sweepStaleBoots(log);
    const rootfs = await ensureRootfs(log, options.rootfsTimeoutMs);
    const undo: Array<() => unknown> = [];
    try {
      // One folder of this process (its pid in the name, for the sweep) for the synthesized stacks, the
      // stack's own PKI and the test's CA: their keys go with it, and no other test's PKI folder is touched.
      const work = mkdtempSync(join(tmpdir(), `${SYNTH_PREFIX}${process.pid}-`));
      undo.push(() => rmSync(work, { recursive: true, force: true }));
      const config = exampleConfig(undefined, join(work, 'pki'));
      const app = new App({ outdir: join(work, 'out') });
      buildStacks(app, config);
      app.synth();
      const stack = readSynthesizedStack(join(work, 'out', 'stacks', BOOT_STACK), BOOT_STACK);
      mkdirSync(join(work, 'test-pki'));
      const testPki = createTestPki(join(work, 'test-pki'));
      const postgres = await createPrivatePostgres({ tls: databaseTls(testPki, '127.0.0.1'), namePrefix: `${PG_CLUSTER_PREFIX}${process.pid}_` });
      undo.push(() => postgres.drop());
      const apt = await startAptProxy();
      undo.push(() => apt.close());
      const s = new BootStack(stack, rootfs, postgres, testPki, apt, config.pkiDir, undo);
      for (const fake of [s.kp, s.metadata, s.cos]) {
        await fake.start();
        undo.push(() => fake.stop());
      }
      for (const a of stack.assets) s.cos.put(stack.bucket, a.key, a.bytes);
      await s.createDatabase(s.values.database.name);
      return s;
    } catch (err) {
      const problems = await unwind(undo);
      if (problems.length > 0) log(`clean-up after a failed start: ${problems.join('; ')}`);
      throw err;
    }
  }

  async createDatabase(name: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.postgres.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
  }

  /** Boots the stack's node of `zone` (database: another database of the same server). */
  boot(zone: string, options: { database?: string; name?: string } = {}): Promise<KmipNode> {
    if (this.disposed) return Promise.reject(new Error('the boot stack is disposed'));
    const booting = this.bootNode(zone, options);
    this.booting.push(booting);
    return booting;
  }

  private async bootNode(zone: string, options: { database?: string; name?: string }): Promise<KmipNode> {
    const node = this.stack.nodes.find((n) => n.zone === zone);
    if (!node) throw new Error(`${this.stack.name} has no node in ${zone}`);
    const values = options.database ? { ...this.values, database: { ...this.values.database, name: options.database } } : this.values;
    const userData = nodeUserData(this.stack, node, values, { keyProtect: this.kp.url, objectStorage: this.cos.url });
    const booted = await BootedNode.boot({
      name: options.name ?? zone,
      hostname: `${this.stack.name}-${zone}`,
      nodeIp: node.ip,
      userData,
      rootfs: this.rootfs,
      services: [
        { port: this.kp.port },
        { port: this.cos.port },
        { port: this.postgres.port },
        { port: this.metadata.port, address: { host: METADATA_LINK_LOCAL, port: 80 } },
      ],
      aptProxyPort: this.apt.port,
      exposed: [
        { host: '127.0.0.1', port: KMIP_PORT },
        { host: node.ip, port: ADMIN_PORT },
      ],
    });
    return new KmipNode(zone, node.ip, booted, this);
  }

  /**
   * Restarts the database with a server certificate from the test's CA naming `ip`: 127.0.0.1, where the nodes
   * dial it, is the right one; any other address is one a verify-full client must refuse.
   */
  restartDatabaseWithCertificateFor(ip: string): void {
    this.postgres.useTls(databaseTls(this.testPki, ip));
    this.postgres.restart();
  }

  /** A client certificate (from the test's own CA) registered to a new tenant through a node's admin API. */
  async registerClient(node: KmipNode, tenant: string): Promise<TestClientCert> {
    const client = this.testPki.client(`${tenant}-client`);
    const t = await node.admin('POST', '/v1/tenants', { name: tenant });
    if (t.status !== 201) throw new Error(`tenant ${tenant}: ${t.status} ${JSON.stringify(t.body)}`);
    const c = await node.admin('POST', '/v1/certs', { tenant, pem: client.certificatePem, label: 'vcenter' });
    if (c.status !== 201) throw new Error(`certificate for ${tenant}: ${c.status} ${JSON.stringify(c.body)}`);
    return client;
  }

  /**
   * Disposes every node, also those whose boot is still under way (waited for) or failed, then everything
   * create() set up; throws naming what could not be cleaned up, after trying all of it.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    const settled = await Promise.allSettled(this.booting.splice(0));
    const nodes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const problems = (await Promise.allSettled(nodes.map((n) => n.dispose()))).flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    problems.push(...(await unwind(this.undo)));
    if (problems.length > 0) throw new Error(`the boot stack's clean-up left something behind:\n${problems.join('\n')}`);
  }
}
