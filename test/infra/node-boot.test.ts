/**
 * The example dev stack's nodes, booted for real: the user data that cdk.tf.json hands to Terraform (references
 * resolved from the stand-ins, IBM endpoints pointed at them) seeds cloud-init on a Debian 13 root filesystem
 * under systemd-nspawn. cloud-init installs Node.js from Debian's archive, the asset unit fetches the bundle and
 * TLS material from the object storage stand-in with a trusted-profile token from the metadata service and checks
 * every SHA-256, and the hardened server unit serves vCenter's requests against PostgreSQL over TLS (verify-full,
 * by IP address) and Key Protect. What this cannot reproduce: IBM's mirror and the IBM image's own cloud.cfg.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ItemType, type StructureItem } from '../../server/ttlv/index.js';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { FETCH_EXIT, KMIP_PORT, MIN_NODE_VERSION, PATHS, type AssetManifest } from '../../modules/kmip-cluster/plan-boot.js';
import { decodeResponse, type DecodedResponse } from '../support/kmip-client.js';
import { requirement } from '../support/env.js';
import type { TestClientCert } from '../support/pki.js';
import { vcenter, VCENTER_PRODUCT_TAGS } from '../support/vcenter.js';
import { bootUnavailableReason } from '../support/boot/boot-node.js';
import { BootStack, type KmipNode } from '../support/boot/boot-stack.js';

const unavailable = bootUnavailableReason();
const skip = requirement('booting a node (root, systemd-nspawn, debootstrap, cgroups, overlayfs)', unavailable === undefined, unavailable ?? '');

/** The exposure score `systemd-analyze security kmip.service` gave when the unit was last hardened. */
const EXPOSURE_CEILING = 1.4;
/** Building the root filesystem when this month's is not cached yet (about a minute here; the mirror may be slow). */
const ROOTFS_BUILD_MS = 600_000;
/** Starting both nodes once the root filesystem is there: each step of a boot is bounded well within this. */
const BOOT_MS = 120_000;
/** Kept back from each test's time for a failed wait's diagnostics (waitFor's description gets 10 s). */
const DIAGNOSTICS_MS = 15_000;

const log = (line: string) => process.stderr.write(`[node-boot] ${line}\n`);

/**
 * A test's own clock: what is left of its `timeoutMs`, less room for diagnostics, for the next wait. The waits of
 * one test then never add up past vitest's timeout, which would stop the test before it says what it saw.
 */
function deadline(timeoutMs: number): () => number {
  const end = Date.now() + timeoutMs - DIAGNOSTICS_MS;
  return () => Math.max(1_000, end - Date.now());
}

async function ready(node: KmipNode, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  await node.booted.waitFor(
    '/readyz ready',
    async () => (await node.readyz())?.status === 200,
    timeoutMs,
    async () => `kmip-assets: ${JSON.stringify(await node.booted.unit('kmip-assets.service', 3_000))}\nkmip: ${JSON.stringify(await node.booted.unit('kmip.service', 3_000))}\n${(await node.booted.journal(undefined, 3_000)).slice(-6000)}`,
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

/**
 * What a registered client gets from the node's KMIP port through its relay: 'served', or how the connection
 * failed (the error's code). Only the node itself can say the port is closed (listeners()); this says the
 * client was turned away by the connection, not by a certificate check.
 */
async function served(node: KmipNode, cert: TestClientCert): Promise<string> {
  return node.kmip(cert).then(
    async (c) => {
      await c.close();
      return 'served';
    },
    (err: NodeJS.ErrnoException) => `failed: ${err.code ?? err.message}`,
  );
}

/** What listens on the KMIP port inside the node, as `ss` there lists it: empty when the port is closed. */
async function listeners(node: KmipNode): Promise<string> {
  const r = await node.booted.exec(['ss', '-Htln', `sport = :${KMIP_PORT}`]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout.trim();
}

/** The asset manifest as the node has it (what cloud-init wrote and kmip-assets read), not our seed. */
async function manifestOn(node: KmipNode): Promise<AssetManifest> {
  return JSON.parse((await node.booted.exec(['cat', PATHS.manifest])).stdout) as AssetManifest;
}

/** The SHA-256 of a Get's key material: compared instead of the bytes, which a failed assertion would print. */
function keyDigest(payload: Record<string, unknown>): string {
  const block = (payload['symmetricKey'] as StructureItem).value.find((c) => c.tag === Tag.KeyBlock) as StructureItem;
  const value = block.value.find((c) => c.tag === Tag.KeyValue) as StructureItem;
  const material = value.value.find((c) => c.tag === Tag.KeyMaterial)!;
  expect(material.type).toBe(ItemType.ByteString);
  expect((material.value as Uint8Array).length).toBe(32);
  return createHash('sha256').update(material.value as Uint8Array).digest('hex');
}

describe.skipIf(skip)('a node booted from the synthesized user data', () => {
  let creating: Promise<BootStack> | undefined;
  let stack: BootStack;
  let one: KmipNode;
  let two: KmipNode;
  let client: TestClientCert;
  let uid: string;
  let keyHash: string;

  beforeAll(async () => {
    creating = BootStack.create(log, { rootfsTimeoutMs: ROOTFS_BUILD_MS });
    stack = await creating;
    [one, two] = await Promise.all([stack.boot('us-east-1'), stack.boot('us-east-2')]);
  }, ROOTFS_BUILD_MS + BOOT_MS);
  afterAll(async () => {
    // Also when the hook timed out with create() still running: it is waited for, then undone.
    const s = await creating?.catch(() => undefined);
    await s?.dispose();
  }, 180_000);

  it('boots clean: cloud-init installs Node.js, the pinned assets are fetched with a trusted-profile token, /readyz is ready', { timeout: 240_000 }, async () => {
    const left = deadline(240_000);
    await Promise.all([ready(one, left()), ready(two, left())]);
    for (const node of [one, two]) {
      const status = JSON.parse((await node.booted.exec(['cloud-init', 'status', '--format', 'json'])).stdout) as { status: string; errors: unknown[] };
      expect({ zone: node.zone, status: status.status, errors: status.errors }).toEqual({ zone: node.zone, status: 'done', errors: [] });
      const version = (await node.booted.exec(['node', '--version'])).stdout.trim().slice(1).split('.').map(Number);
      const min = MIN_NODE_VERSION.split('.').map(Number);
      expect(version[0]! * 1000 + version[1]!).toBeGreaterThanOrEqual(min[0]! * 1000 + min[1]!);
      // Each node fetched the assets its user data pins, its own TLS key among them, each once.
      const manifest = await manifestOn(node);
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
    // Tokens came from the metadata service (fetcher and server on each node): every Key Protect call so far
    // (the root key check at start) carried a token that the trusted-profile exchange minted for the profile.
    expect(stack.metadata.calls.iamToken).toBeGreaterThanOrEqual(4);
    const kpCalls = stack.kp.requests.filter((r) => r.path.startsWith('/api/'));
    expect(kpCalls.length).toBeGreaterThanOrEqual(2);
    const holders = kpCalls.map((r) => stack.kp.tokenHolder(String(r.headers['authorization'] ?? '').replace(/^Bearer /, '')) ?? 'unknown');
    expect(new Set(holders)).toEqual(new Set([`iam-${stack.values.trustedProfileId}`]));
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
    keyHash = keyDigest(item(got!, Operation.Get));
    expect(item(activated!, Operation.Activate)).toEqual({ uniqueIdentifier: uid });
    // The key reached the database wrapped by Key Protect's root key (the stand-in saw the wrap).
    expect(stack.kp.requests.some((r) => r.path.endsWith('/actions/wrap') && r.status === 200)).toBe(true);
  });

  it("serves each node's keys from the other, which shares the database", async () => {
    const [got] = await vcenterConnection(two, client, vcenter.get(uid));
    expect(keyDigest(item(got!, Operation.Get))).toBe(keyHash);
    // The other way: a key created on the second node is served by the first.
    const [created] = await vcenterConnection(two, client, vcenter.createAes256());
    const other = item(created!, Operation.Create)['uniqueIdentifier'] as string;
    const [onTwo] = await vcenterConnection(two, client, vcenter.get(other));
    const [onOne] = await vcenterConnection(one, client, vcenter.get(other));
    const otherHash = keyDigest(item(onTwo!, Operation.Get));
    expect(keyDigest(item(onOne!, Operation.Get))).toBe(otherHash);
    expect(otherHash).not.toBe(keyHash);
  });

  it('reaches its database by IP address with verify-full: a certificate of the same CA for another address is refused, and both nodes’ sessions are TLS', { timeout: 180_000 }, async () => {
    const left = deadline(180_000);
    const config = JSON.parse((await one.booted.exec(['cat', PATHS.config])).stdout) as { store: { url: string; caFile: string } };
    const url = new URL(config.store.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(config.store.caFile).toBe(PATHS.dbCa);

    // The URL's ssl parameters are not what the server goes by (server/store/postgres.ts drops them and
    // verifies against caFile), and TLS sessions alone would look the same under sslmode=require: the proof
    // is a certificate that chains to the right CA but names another address, which only a check of the
    // address refuses.
    stack.restartDatabaseWithCertificateFor('127.0.0.2');
    try {
      const restart = await one.booted.exec(['systemctl', 'restart', 'kmip.service']);
      expect({ code: restart.code, stderr: restart.stderr }).toEqual({ code: 0, stderr: '' });
      const refused = await one.booted.waitFor(
        'kmip.service refusing the database certificate',
        async () => /(ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames)[^\n]*/.exec(await one.booted.journal('kmip.service'))?.[0],
        left(),
        async () => `${JSON.stringify(await one.booted.unit('kmip.service', 3_000))}\n${(await one.booted.journal('kmip.service', 3_000)).slice(-3000)}`,
      );
      expect(refused).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.2/);
      expect((await one.readyz())?.status ?? 'no answer').not.toBe(200);
      expect(await listeners(one)).toBe('');
    } finally {
      stack.restartDatabaseWithCertificateFor('127.0.0.1');
    }
    await one.booted.exec(['systemctl', 'restart', 'kmip.service']);
    await Promise.all([ready(one, left()), ready(two, left())]);

    // Both nodes hold sessions (each has just served a Get), and PostgreSQL's view of them is matched to each
    // node by client port: every node's connection leaves the host through that node's own relay.
    for (const node of [one, two]) {
      const [again] = await vcenterConnection(node, client, vcenter.get(uid));
      expect(keyDigest(item(again!, Operation.Get))).toBe(keyHash);
    }
    const db = new pg.Client({ connectionString: stack.postgres.url });
    await db.connect();
    try {
      const rows = (await db.query<{ ssl: boolean; client_port: number }>("SELECT s.ssl, a.client_port FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = 'kmip_boot'")).rows;
      for (const node of [one, two]) {
        const ports = node.databaseClientPorts();
        const mine = rows.filter((r) => ports.includes(r.client_port));
        expect({ zone: node.zone, sessions: mine.length > 0, allTls: mine.every((r) => r.ssl) }).toEqual({ zone: node.zone, sessions: true, allTls: true });
      }
      expect(rows.filter((r) => !r.ssl)).toEqual([]);
    } finally {
      await db.end();
    }
  });

  it('re-verifies its assets at reboot without downloading them', { timeout: 150_000 }, async () => {
    const left = deadline(150_000);
    const before = stack.cos.requests.length;
    await one.booted.powerOff();
    await one.booted.start();
    await ready(one, left());
    expect(stack.cos.requests.length).toBe(before);
    await one.booted.waitFor('the verification in the journal', async () => /kmip-assets: 5 assets verified/.test(await one.booted.journal('kmip-assets.service')), left());
    const [got] = await vcenterConnection(one, client, vcenter.get(uid));
    expect(keyDigest(item(got!, Operation.Get))).toBe(keyHash);
  });

  it('refuses a tampered bundle (exit status 4), keeps 5696 closed with the failure on kmip.service, and recovers by itself once the object is corrected', { timeout: 300_000 }, async () => {
    const left = deadline(300_000);
    const manifest = await manifestOn(two);
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
    const assets = async () => `${JSON.stringify(await two.booted.unit('kmip-assets.service', 3_000))}\n${(await two.booted.journal('kmip-assets.service', 3_000)).slice(-3000)}`;
    await two.booted.waitFor('the refusal', async () => /REFUSED .*kmip-server\.mjs/.test(await two.booted.journal('kmip-assets.service')), left(), assets);
    // The fetcher's own exit status for a hash mismatch (it restarts, so the status is caught between runs).
    await two.booted.waitFor(`kmip-assets.service exiting ${FETCH_EXIT.hashMismatch}`, async () => (await two.booted.unit('kmip-assets.service')).ExecMainStatus === String(FETCH_EXIT.hashMismatch), left(), assets);
    await two.booted.waitFor(
      'kmip.service failing',
      async () => {
        const u = await two.booted.unit('kmip.service');
        return u.Result === 'exit-code' && u.ActiveState !== 'active';
      },
      left(),
      async () => JSON.stringify(await two.booted.unit('kmip.service', 3_000)),
    );
    await two.booted.waitFor('the refusal on kmip.service', async () => /is missing or is not the pinned/.test(await two.booted.journal('kmip.service')), left());
    expect(await listeners(two)).toBe('');
    expect(await served(two, client)).toBe('failed: ECONNRESET');
    expect((await two.booted.exec(['sha256sum', PATHS.bundle])).stdout.split(' ')[0]).not.toBe(bundle.sha256);

    stack.cos.put(stack.stack.bucket, bundle.key, good);
    const fixedAt = Date.now();
    await ready(two, left());
    log(`us-east-2: recovered ${((Date.now() - fixedAt) / 1000).toFixed(1)} s after the object was corrected, nobody logged in`);
    expect(stack.cos.count(bundle.key)).toBeGreaterThan(getsBefore + 1);
    expect((await two.booted.exec(['sha256sum', PATHS.bundle])).stdout.split(' ')[0]).toBe(bundle.sha256);
    const [got] = await vcenterConnection(two, client, vcenter.get(uid));
    expect(keyDigest(item(got!, Operation.Get))).toBe(keyHash);
  });

  it('comes up not ready while its database is down at boot, and recovers when the database returns', { timeout: 300_000 }, async () => {
    const left = deadline(300_000);
    await one.booted.powerOff();
    stack.postgres.stop();
    try {
      await one.booted.start();
      // Up, and saying why it is not ready, on the admin port the load balancer's health check probes.
      const answer = await one.booted.waitFor('/readyz answering', async () => one.readyz(), left(), async () => (await one.booted.journal('kmip.service', 3_000)).slice(-3000));
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ ready: false, checks: { store: expect.stringMatching(/^unreachable: waiting for the database/) } });
      expect((await one.admin('GET', '/healthz')).status).toBe(200);
      // journald takes the server's output a moment after the server acted on it: waited for, not read once.
      await one.booted.waitFor('the retry in the journal', async () => /database unreachable at start; retrying/.test(await one.booted.journal('kmip.service')), left());
      expect((await one.booted.unit('kmip.service')).NRestarts).toBe('0');
      expect(await listeners(one)).toBe('');
      expect(await served(one, client)).toBe('failed: ECONNRESET');
    } finally {
      stack.postgres.start();
    }
    const back = Date.now();
    const waitingPid = (await one.booted.unit('kmip.service')).MainPID;
    await ready(one, left());
    log(`us-east-1: ready ${((Date.now() - back) / 1000).toFixed(1)} s after the database returned`);
    // Recovered in the same process: no restart by systemd.
    expect((await one.booted.unit('kmip.service')).NRestarts).toBe('0');
    expect((await one.booted.unit('kmip.service')).MainPID).toBe(waitingPid);
    const [got] = await vcenterConnection(one, client, vcenter.get(uid));
    expect(keyDigest(item(got!, Operation.Get))).toBe(keyHash);
  });
});
