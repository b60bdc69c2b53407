/**
 * One synthesized stack's nodes booted on this machine, with everything they reach standing in locally: the
 * instance metadata service (trusted-profile IAM tokens), Key Protect, Cloud Object Storage holding the stack's
 * own asset objects, PostgreSQL with TLS on a port of its own (the nodes require verify-full), and apt's way to
 * Debian's archive. Each node is reached from the test through host ports relayed to its 5696 and its admin
 * port (which binds the node's VPC address).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { App } from 'cdktf';
import pg from 'pg';
import { ADMIN_PORT, KMIP_PORT } from '../../../modules/kmip-cluster/plan-boot.js';
import { buildStacks } from '../../../stacks/kmip-stack.js';
import { pkiPaths } from '../../../stacks/pki.js';
import { exampleConfig } from '../cdktf-fixtures.js';
import { FakeCos } from '../fake-cos.js';
import { FakeKeyProtect } from '../fake-keyprotect.js';
import { FakeMetadataService } from '../fake-metadata-service.js';
import { TestKmipClient } from '../kmip-client.js';
import { createTestPki, type TestClientCert, type TestPki } from '../pki.js';
import { createPrivatePostgres, type PrivatePostgres } from '../private-postgres.js';
import { startAptProxy, type AptProxy } from './apt-proxy.js';
import { BootedNode, METADATA_LINK_LOCAL, sweepStaleBoots } from './boot-node.js';
import { nodeUserData, readSynthesizedStack, type ApplyTimeValues, type SynthesizedStack } from './node-seed.js';
import { ensureRootfs } from './rootfs.js';

/** The example config's stack the boot tests use: two zones, its own Key Protect instance. */
export const BOOT_STACK = 'kmip-dev-us-east';

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

  dispose(): Promise<void> {
    return this.booted.dispose();
  }
}

export class BootStack {
  readonly kp = new FakeKeyProtect();
  readonly metadata: FakeMetadataService;
  readonly cos: FakeCos;
  readonly values: ApplyTimeValues;
  readonly pki: ReturnType<typeof pkiPaths>;
  private readonly nodes: KmipNode[] = [];

  private constructor(
    readonly stack: SynthesizedStack,
    readonly rootfs: string,
    readonly postgres: PrivatePostgres,
    readonly testPki: TestPki,
    readonly apt: AptProxy,
    pkiDir: string,
    private readonly synthDir: string,
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
  }

  /** Builds (or reuses) the root filesystem, synthesizes the example stacks and starts every stand-in. */
  static async create(log: (line: string) => void = () => undefined): Promise<BootStack> {
    await sweepStaleBoots();
    const rootfs = ensureRootfs(log);
    const synthDir = mkdtempSync(join(tmpdir(), 'kmip-boot-synth-'));
    const config = exampleConfig();
    const app = new App({ outdir: synthDir });
    buildStacks(app, config);
    app.synth();
    const stack = readSynthesizedStack(join(synthDir, 'stacks', BOOT_STACK), BOOT_STACK);
    const testPki = createTestPki();
    const postgres = await createPrivatePostgres({ tls: { certPem: testPki.server.certificatePem + testPki.ca.certificatePem, keyPem: testPki.server.privateKeyPem } });
    const apt = await startAptProxy();
    const s = new BootStack(stack, rootfs, postgres, testPki, apt, config.pkiDir, synthDir);
    await s.kp.start();
    await s.metadata.start();
    await s.cos.start();
    for (const a of stack.assets) s.cos.put(stack.bucket, a.key, a.bytes);
    await s.createDatabase(s.values.database.name);
    return s;
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
  async boot(zone: string, options: { database?: string; name?: string } = {}): Promise<KmipNode> {
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
    const k = new KmipNode(zone, node.ip, booted, this);
    this.nodes.push(k);
    return k;
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

  async dispose(): Promise<void> {
    for (const n of this.nodes.splice(0)) await n.dispose().catch(() => undefined);
    await this.cos.stop().catch(() => undefined);
    await this.metadata.stop().catch(() => undefined);
    await this.kp.stop().catch(() => undefined);
    await this.apt.close().catch(() => undefined);
    try {
      this.postgres.drop();
    } catch {
      // already gone
    }
    rmSync(this.synthDir, { recursive: true, force: true });
  }
}
