/**
 * The example dev stack's nodes, booted for real: the user data that cdk.tf.json hands to Terraform (references
 * resolved from the stand-ins, IBM endpoints pointed at them) seeds cloud-init on a Debian 13 root filesystem
 * under systemd-nspawn. cloud-init installs Node.js from Debian's archive, the asset unit fetches the bundle and
 * TLS material from the object storage stand-in with a trusted-profile token from the metadata service and checks
 * every SHA-256, and the hardened server unit serves vCenter's requests against PostgreSQL over TLS (verify-full,
 * by IP address) and Key Protect. What this cannot reproduce: IBM's mirror and the IBM image's own cloud.cfg.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ItemType, type StructureItem } from '../../server/ttlv/index.js';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { MIN_NODE_VERSION, PATHS } from '../../modules/kmip-cluster/plan-boot.js';
import { decodeResponse, type DecodedResponse } from '../support/kmip-client.js';
import { requirement } from '../support/env.js';
import type { TestClientCert } from '../support/pki.js';
import { vcenter, VCENTER_PRODUCT_TAGS } from '../support/vcenter.js';
import { bootUnavailableReason } from '../support/boot/boot-node.js';
import { BootStack, type KmipNode } from '../support/boot/boot-stack.js';
import { manifestOf } from '../support/boot/node-seed.js';

const unavailable = bootUnavailableReason();
const skip = requirement('booting a node (root, systemd-nspawn, debootstrap, cgroups, overlayfs)', unavailable === undefined, unavailable ?? '');

/** The exposure score `systemd-analyze security kmip.service` gave when the unit was last hardened. */
const EXPOSURE_CEILING = 1.4;
const BOOT_TIMEOUT_MS = 180_000;

const log = (line: string) => process.stderr.write(`[node-boot] ${line}\n`);

async function ready(node: KmipNode, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
  const t0 = Date.now();
  await node.booted.waitFor(
    '/readyz ready',
    async () => (await node.readyz())?.status === 200,
    timeoutMs,
    async () => `kmip-assets: ${JSON.stringify(await node.booted.unit('kmip-assets.service'))}\nkmip: ${JSON.stringify(await node.booted.unit('kmip.service'))}\n${(await node.booted.journal()).slice(-6000)}`,
  );
  log(`${node.zone}: ready ${((Date.now() - t0) / 1000).toFixed(1)} s after boot`);
}

function item(r: DecodedResponse, operation: number) {
  expect(r.items).toHaveLength(1);
  const it = r.items[0]!;
  expect({ operation: it.operation, status: it.resultStatus, reason: it.resultReason, message: it.resultMessage }).toEqual({ operation, status: ResultStatus.Success, reason: undefined, message: undefined });
  return it.payload!;
}

/** One vCenter connection: Discover Versions first, then the requests one at a time. */
async function vcenterConnection(node: KmipNode, cert: TestClientCert, ...requests: Uint8Array[]): Promise<DecodedResponse[]> {
  const client = await node.kmip(cert);
  const out: DecodedResponse[] = [];
  for (const r of [vcenter.discoverVersions(false), ...requests]) out.push(decodeResponse(await client.send(r), 11));
  await client.close();
  return out.slice(1);
}

/** Whether the node's KMIP port completes a TLS handshake with a registered client. */
async function served(node: KmipNode, cert: TestClientCert): Promise<'served' | 'refused'> {
  return node.kmip(cert).then(
    async (c) => {
      await c.close();
      return 'served' as const;
    },
    () => 'refused' as const,
  );
}

function keyMaterial(payload: Record<string, unknown>): Uint8Array {
  const block = (payload['symmetricKey'] as StructureItem).value.find((c) => c.tag === Tag.KeyBlock) as StructureItem;
  const value = block.value.find((c) => c.tag === Tag.KeyValue) as StructureItem;
  const material = value.value.find((c) => c.tag === Tag.KeyMaterial)!;
  expect(material.type).toBe(ItemType.ByteString);
  return material.value as Uint8Array;
}

describe.skipIf(skip)('a node booted from the synthesized user data', () => {
  let stack: BootStack;
  let one: KmipNode;
  let two: KmipNode;
  let client: TestClientCert;
  let uid: string;
  let key: Uint8Array;

  beforeAll(async () => {
    stack = await BootStack.create(log);
    [one, two] = await Promise.all([stack.boot('us-east-1'), stack.boot('us-east-2')]);
  }, BOOT_TIMEOUT_MS * 2);
  afterAll(async () => {
    await stack?.dispose();
  }, 120_000);

  it('boots clean: cloud-init installs Node.js, the pinned assets are fetched with a trusted-profile token, /readyz is ready', { timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    await Promise.all([ready(one), ready(two)]);
    for (const node of [one, two]) {
      const status = JSON.parse((await node.booted.exec(['cloud-init', 'status', '--format', 'json'])).stdout) as { status: string; errors: unknown[] };
      expect({ zone: node.zone, status: status.status, errors: status.errors }).toEqual({ zone: node.zone, status: 'done', errors: [] });
      const version = (await node.booted.exec(['node', '--version'])).stdout.trim().slice(1).split('.').map(Number);
      const min = MIN_NODE_VERSION.split('.').map(Number);
      expect(version[0]! * 1000 + version[1]!).toBeGreaterThanOrEqual(min[0]! * 1000 + min[1]!);
      // Each node fetched the assets its user data pins, its own TLS key among them, each once.
      const manifest = manifestOf((await node.booted.exec(['cat', '/var/lib/cloud/seed/nocloud/user-data'])).stdout);
      expect(manifest.bucket).toBe(stack.stack.bucket);
      expect(manifest.assets.map((a) => a.path).sort()).toEqual([PATHS.adminCa, PATHS.bundle, PATHS.cert, PATHS.key, PATHS.ticketKeys].sort());
      expect(manifest.assets.find((a) => a.path === PATHS.key)!.key).toMatch(new RegExp(`/${node.zone}-key\\.pem$`));
      for (const a of manifest.assets) expect({ key: a.key, gets: stack.cos.count(a.key) }).toEqual({ key: a.key, gets: a.path === PATHS.bundle || a.path === PATHS.adminCa || a.path === PATHS.ticketKeys ? 2 : 1 });
      // Installed as pinned: the bytes' hash, and the owners and modes the manifest names.
      const stat = (await node.booted.exec(['stat', '-c', '%a %U:%G %n', PATHS.key, PATHS.manifest, PATHS.config, PATHS.bundle])).stdout.trim().split('\n');
      expect(stat).toEqual([`640 root:kmip ${PATHS.key}`, `600 root:root ${PATHS.manifest}`, `640 root:kmip ${PATHS.config}`, `644 root:root ${PATHS.bundle}`]);
      const hash = (await node.booted.exec(['sha256sum', PATHS.bundle])).stdout.split(' ')[0];
      expect(hash).toBe(manifest.assets.find((a) => a.path === PATHS.bundle)!.sha256);
    }
    expect(stack.cos.requests.every((r) => r.status === 200)).toBe(true);
    // Tokens came from the metadata service (fetcher and server on each node), never from an API key.
    expect(stack.metadata.calls.iamToken).toBeGreaterThanOrEqual(4);
    expect(stack.kp.requests.some((r) => r.path === '/identity/token')).toBe(false);
    expect(stack.apt.log.some((l) => /\/pool\/main\/n\/nodejs\/nodejs_.*\.deb 200$/.test(l))).toBe(true);
    expect(stack.apt.log.filter((l) => / 403$/.test(l))).toEqual([]);
  });

  it('runs the server as the unprivileged kmip user with no capabilities, seccomp on, and exposure at or below today’s', async () => {
    const pid = (await one.booted.exec(['systemctl', 'show', 'kmip.service', '-p', 'MainPID', '--value'])).stdout.trim();
    const status = (await one.booted.exec(['cat', `/proc/${pid}/status`])).stdout;
    const uid = /^Uid:\s+(\d+)/m.exec(status)![1];
    expect((await one.booted.exec(['id', '-un', uid!])).stdout.trim()).toBe('kmip');
    expect(/^CapEff:\s+(\w+)/m.exec(status)![1]).toBe('0000000000000000');
    expect(/^CapBnd:\s+(\w+)/m.exec(status)![1]).toBe('0000000000000000');
    expect(/^NoNewPrivs:\s+(\d)/m.exec(status)![1]).toBe('1');
    expect(/^Seccomp:\s+(\d)/m.exec(status)![1]).toBe('2');
    const analysis = (await one.booted.exec(['systemd-analyze', 'security', '--no-pager', 'kmip.service'])).stdout;
    const exposure = Number(/Overall exposure level for kmip\.service: ([\d.]+)/.exec(analysis)?.[1]);
    expect(exposure).toBeGreaterThan(0);
    expect(exposure).toBeLessThanOrEqual(EXPOSURE_CEILING);
  });

  it('serves the vCenter sequence through a tenant and certificate registered over the admin API', async () => {
    client = await stack.registerClient(one, 'vcenter-boot');
    const [query] = await vcenterConnection(one, client, vcenter.queryServerInformation());
    expect(item(query!, Operation.Query)['vendorIdentification']).toBe('kmip-for-vmware');
    const [created] = await vcenterConnection(one, client, vcenter.createAes256());
    uid = item(created!, Operation.Create)['uniqueIdentifier'] as string;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);
    const [tags] = await vcenterConnection(one, client, vcenter.addAttributes(uid, VCENTER_PRODUCT_TAGS));
    expect(tags!.items.map((i) => i.resultStatus)).toEqual(VCENTER_PRODUCT_TAGS.map(() => ResultStatus.Success));
    const [got, activated] = await vcenterConnection(one, client, vcenter.get(uid), vcenter.activate(uid));
    key = keyMaterial(item(got!, Operation.Get));
    expect(key).toHaveLength(32);
    expect(item(activated!, Operation.Activate)).toEqual({ uniqueIdentifier: uid });
    // The key reached the database wrapped by Key Protect's root key (the stand-in saw the wrap).
    expect(stack.kp.requests.some((r) => r.path.endsWith('/actions/wrap') && r.status === 200)).toBe(true);
  });

  it('serves the same key from the second node, which shares the database', async () => {
    const [got] = await vcenterConnection(two, client, vcenter.get(uid));
    expect(Buffer.from(keyMaterial(item(got!, Operation.Get)))).toEqual(Buffer.from(key));
  });

  it('reaches its database by IP address over TLS with verify-full', async () => {
    const db = new pg.Client({ connectionString: stack.postgres.url });
    await db.connect();
    try {
      const rows = (await db.query<{ ssl: boolean; client_addr: string }>("SELECT s.ssl, a.client_addr FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'kmip_boot'")).rows;
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows.every((r) => r.ssl)).toBe(true);
    } finally {
      await db.end();
    }
    const config = JSON.parse((await one.booted.exec(['cat', PATHS.config])).stdout) as { store: { url: string; caFile: string } };
    const url = new URL(config.store.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(config.store.caFile).toBe(PATHS.dbCa);
  });

  it('re-verifies its assets at reboot without downloading them', { timeout: 150_000 }, async () => {
    const before = stack.cos.requests.length;
    await one.booted.powerOff();
    await one.booted.start();
    await ready(one, 90_000);
    expect(stack.cos.requests.length).toBe(before);
    expect(await one.booted.journal('kmip-assets.service')).toMatch(/kmip-assets: 5 assets verified/);
    const [got] = await vcenterConnection(one, client, vcenter.get(uid));
    expect(Buffer.from(keyMaterial(item(got!, Operation.Get)))).toEqual(Buffer.from(key));
  });

  it('refuses a tampered bundle, keeps 5696 closed with the failure on kmip.service, and recovers by itself once the object is corrected', { timeout: 300_000 }, async () => {
    const manifest = manifestOf((await two.booted.exec(['cat', '/var/lib/cloud/seed/nocloud/user-data'])).stdout);
    const bundle = manifest.assets.find((a) => a.path === PATHS.bundle)!;
    const good = stack.cos.get(stack.stack.bucket, bundle.key)!;
    const bad = Buffer.from(good);
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 0x01; // same size, other bytes: only the hash can tell
    stack.cos.put(stack.stack.bucket, bundle.key, bad);
    // Someone changed the installed file too: the boot's check must notice and fetch again.
    await two.booted.powerOff();
    const onDisk = `${two.booted.dir}/root${PATHS.bundle}`;
    appendFileSync(onDisk, '\n// changed on disk\n');
    const getsBefore = stack.cos.count(bundle.key);
    await two.booted.start();
    await two.booted.waitFor('the refusal', async () => /REFUSED .*kmip-server\.mjs/.test(await two.booted.journal('kmip-assets.service')), 90_000);
    await two.booted.waitFor(
      'kmip.service failing',
      async () => {
        const u = await two.booted.unit('kmip.service');
        return u.Result === 'exit-code' && u.ActiveState !== 'active';
      },
      60_000,
      async () => JSON.stringify(await two.booted.unit('kmip.service')),
    );
    expect(await two.booted.journal('kmip.service')).toMatch(/is missing or is not the pinned/);
    expect(await served(two, client)).toBe('refused');
    expect((await two.booted.exec(['sha256sum', PATHS.bundle])).stdout.split(' ')[0]).not.toBe(bundle.sha256);

    stack.cos.put(stack.stack.bucket, bundle.key, good);
    const fixedAt = Date.now();
    await ready(two, 120_000);
    log(`us-east-2: recovered ${((Date.now() - fixedAt) / 1000).toFixed(1)} s after the object was corrected, nobody logged in`);
    expect(stack.cos.count(bundle.key)).toBeGreaterThan(getsBefore + 1);
    expect((await two.booted.exec(['sha256sum', PATHS.bundle])).stdout.split(' ')[0]).toBe(bundle.sha256);
    const [got] = await vcenterConnection(two, client, vcenter.get(uid));
    expect(Buffer.from(keyMaterial(item(got!, Operation.Get)))).toEqual(Buffer.from(key));
  });

  it('comes up not ready while its database is down at boot, and recovers when the database returns', { timeout: 300_000 }, async () => {
    await one.booted.powerOff();
    stack.postgres.stop();
    try {
      await one.booted.start();
      // Up, and saying why it is not ready, on the admin port the load balancer's health check probes.
      const answer = await one.booted.waitFor('/readyz answering', async () => one.readyz(), 90_000, async () => (await one.booted.journal('kmip.service')).slice(-3000));
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ ready: false, checks: { store: expect.stringMatching(/^unreachable: waiting for the database/) } });
      expect((await one.admin('GET', '/healthz')).status).toBe(200);
      expect(await one.booted.journal('kmip.service')).toMatch(/database unreachable at start; retrying/);
      expect((await one.booted.unit('kmip.service')).NRestarts).toBe('0');
      expect(await served(one, client)).toBe('refused');
    } finally {
      stack.postgres.start();
    }
    const back = Date.now();
    await ready(one, 90_000);
    log(`us-east-1: ready ${((Date.now() - back) / 1000).toFixed(1)} s after the database returned`);
    const [got] = await vcenterConnection(one, client, vcenter.get(uid));
    expect(Buffer.from(keyMaterial(item(got!, Operation.Get)))).toEqual(Buffer.from(key));
  });
});
