import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { parseConfig } from '../../server/config/load.js';
import { METADATA_API_VERSION as SERVER_METADATA_API_VERSION } from '../../server/wrap/metadata-token.js';
import {
  FETCH_ASSETS_SCRIPT,
  FETCH_EXIT,
  METADATA_API_VERSION,
  METADATA_ENDPOINT,
  NODE_INSTALL,
  MIN_NODE_VERSION,
  PATHS,
  USER_DATA_LIMIT_BYTES,
  adminEndpoint,
  byteLength,
  renderAssetsUnit,
  renderCloudConfig,
  renderServerConfig,
  renderServerUnit,
  type AssetManifest,
} from '../../modules/kmip-cluster/plan-boot.js';
import { requireBundle, SAMPLE } from '../support/cdktf-fixtures.js';
import { PYTHON, requirement } from '../support/env.js';

const manifest: AssetManifest = {
  endpoint: 'https://s3.direct.us-south.cloud-object-storage.appdomain.cloud',
  bucket: 'kmip-prod-us-south-assets-0123abcd',
  metadataEndpoint: METADATA_ENDPOINT,
  trustedProfileId: SAMPLE.trustedProfileId,
  assets: [
    { key: `${'a'.repeat(64)}/kmip-server.mjs`, sha256: 'a'.repeat(64), bytes: 1_000_000, path: PATHS.bundle, mode: '0644', owner: 'root', group: 'root' },
    { key: `${'b'.repeat(64)}/us-south-1-key.pem`, sha256: 'b'.repeat(64), bytes: 1704, path: PATHS.key, mode: '0640', owner: 'root', group: 'kmip' },
  ],
};

const serverConfig = () =>
  renderServerConfig({
    nodeIp: '10.240.0.4',
    trustedProfileId: SAMPLE.trustedProfileId,
    keyProtect: { region: 'us-south', instanceId: SAMPLE.keyProtectInstanceId, rootKeyId: SAMPLE.rootKeyId },
    databaseUrl: `postgres://${encodeURIComponent(SAMPLE.database.user)}:${encodeURIComponent(SAMPLE.database.password)}@${SAMPLE.database.host}:${SAMPLE.database.port}/${SAMPLE.database.name}?sslmode=verify-full`,
  });

describe('server configuration rendered for a node', () => {
  it('is accepted by the server (parseConfig) with Key Protect, PostgreSQL and the TLS files', () => {
    const parsed = parseConfig(serverConfig(), 'rendered');
    expect(parsed.store).toMatchObject({ kind: 'postgres', caFile: PATHS.dbCa });
    expect(parsed.wrap).toMatchObject({ kind: 'keyprotect', region: 'us-south', instanceId: SAMPLE.keyProtectInstanceId, rootKeyId: SAMPLE.rootKeyId, endpoint: 'private' });
    // The node's identity: its trusted profile through the metadata service; no API key anywhere.
    expect((parsed.wrap as { auth?: unknown }).auth).toMatchObject({ kind: 'trustedProfile', profileId: SAMPLE.trustedProfileId, metadataEndpoint: 'http://169.254.169.254' });
    expect(JSON.stringify(serverConfig())).not.toMatch(/apiKey/i);
    expect(parsed.tls).toMatchObject({ certFile: PATHS.cert, keyFile: PATHS.key, ticketKeyFile: PATHS.ticketKeys });
    expect(parsed.listen.port).toBe(5696);
    expect(parsed.admin).toMatchObject({ host: '10.240.0.4', port: 9696 });
  });

  it('the admin port is HTTPS with the node certificate and takes admin client certificates from the admin CA, no token', () => {
    const parsed = parseConfig(serverConfig(), 'rendered');
    expect(parsed.admin).toEqual({ enabled: true, host: '10.240.0.4', port: 9696, requestTimeoutMs: 30_000, tls: { certFile: PATHS.cert, keyFile: PATHS.key, clientCaFile: PATHS.adminCa } });
    expect(PATHS.adminCa).not.toBe(PATHS.cert);
    expect(adminEndpoint('10.240.0.4')).toBe('https://10.240.0.4:9696');
    // parseConfig does check the admin TLS block, so the test above can fail
    const admin = serverConfig()['admin'] as { tls: Record<string, unknown> };
    expect(() => parseConfig({ ...serverConfig(), admin: { ...admin, tls: { certFile: PATHS.cert } } })).toThrow(/admin\.tls\.keyFile/);
    expect(() => parseConfig({ ...serverConfig(), admin: { ...admin, tls: { ...admin.tls, caFile: PATHS.adminCa } } })).toThrow(/admin\.tls/);
  });

  it('parseConfig rejects it when a rendered value is wrong (so the check above can fail)', () => {
    const bad = { ...serverConfig(), wrap: { ...(serverConfig()['wrap'] as object), instanceId: 'not-a-guid' } };
    expect(() => parseConfig(bad)).toThrow(/wrap.instanceId/);
  });
});

describe('cloud-config user data', () => {
  const render = () => renderCloudConfig({ serverConfig: serverConfig(), manifest, databaseCaBase64: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64') });

  it('starts with #cloud-config and parses (JSON is YAML) into the modules cloud-init runs', () => {
    const text = render();
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = JSON.parse(text.slice('#cloud-config\n'.length)) as Record<string, any>;
    expect(Object.keys(doc).sort()).toEqual(['package_update', 'packages', 'runcmd', 'users', 'write_files']);
    expect(doc['packages']).toContain('nodejs');
    expect(doc['users'][1]).toMatchObject({ name: 'kmip', system: true, shell: '/usr/sbin/nologin', lock_passwd: true });
    for (const f of doc['write_files']) {
      expect(Object.keys(f).sort()).toEqual(expect.arrayContaining(['content', 'defer', 'owner', 'path', 'permissions']));
      expect(f.permissions).toMatch(/^0[0-7]{3}$/);
    }
    const byPath = Object.fromEntries(doc['write_files'].map((f: any) => [f.path, f]));
    expect(text).not.toMatch(/apikey|api_key/i);
    expect(byPath[PATHS.dbCa]).toMatchObject({ encoding: 'b64' });
    expect(JSON.parse(byPath[PATHS.manifest].content)).toEqual(manifest);
    expect(parseConfig(JSON.parse(byPath[PATHS.config].content)).store.kind).toBe('postgres');
    expect(doc['runcmd']).toContainEqual(['systemctl', 'enable', 'kmip-assets.service', 'kmip.service']);
  });

  // Debian's python3-yaml comes with python3-pykmip, which .ci/run installs for /usr/bin/python3.
  const noPyYaml = requirement('PyYAML', spawnSync(PYTHON, ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0, 'apt-get install python3-yaml');
  it.skipIf(noPyYaml)('parses with PyYAML too, the parser cloud-init reads user data with', () => {
    const out = spawnSync(PYTHON, ['-c', 'import sys, yaml, json; print(json.dumps(sorted(yaml.safe_load(sys.stdin.read()).keys())))'], { input: render(), encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual(['package_update', 'packages', 'runcmd', 'users', 'write_files']);
  });

  it('stays far below the 64 KiB IBM VPC limit because the bundle is fetched, not embedded', () => {
    const size = byteLength(render());
    expect(size).toBeLessThan(16 * 1024);
    expect(USER_DATA_LIMIT_BYTES).toBe(65536);
    // The bundle itself would not fit, even compressed: this is why it is a hash-checked asset.
    expect(statSync(requireBundle()).size).toBeGreaterThan(USER_DATA_LIMIT_BYTES);
  });

  it('refuses literal Terraform template sequences in the rendered text', () => {
    expect(() => renderCloudConfig({ serverConfig: { x: '${oops}' }, manifest, databaseCaBase64: 'AA==' })).toThrow(/template sequences/);
    expect(() => renderCloudConfig({ serverConfig: { x: '%{ if }' }, manifest, databaseCaBase64: 'AA==' })).toThrow(/template sequences/);
    expect(() => renderCloudConfig({ serverConfig: {}, manifest, databaseCaBase64: '${TfToken[TOKEN.12]}' })).not.toThrow();
  });
});

describe('systemd units', () => {
  const directives = (unit: string) => unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));

  it('the server unit runs the pinned bundle as an unprivileged, locked-down user', () => {
    const unit = renderServerUnit();
    const d = directives(unit);
    for (const required of [
      'User=kmip',
      'Group=kmip',
      `ExecStart=/usr/bin/node ${PATHS.bundle} --config ${PATHS.config}`,
      'Wants=network-online.target kmip-assets.service',
      'After=network-online.target kmip-assets.service',
      // Never started on files that are not the pinned ones; restarted until they are (no manual action).
      `ExecStartPre=+/usr/bin/node ${PATHS.fetcher} --verify-only ${PATHS.manifest}`,
      'Restart=on-failure',
      'StartLimitIntervalSec=0',
      'NoNewPrivileges=yes',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'SystemCallFilter=@system-service',
      'SystemCallArchitectures=native',
      'KillSignal=SIGTERM',
      'UMask=0077',
    ]) {
      expect(d, required).toContain(required);
    }
    // V8's JIT needs writable+executable memory; the unit must not forbid it or the server cannot start.
    expect(unit).not.toMatch(/MemoryDenyWriteExecute=yes/);
    expect(unit).toMatch(/^\[Unit\][\s\S]*^\[Service\][\s\S]*^\[Install\]/m);
  });

  it('the assets unit runs the fetcher on the pinned manifest before the server', () => {
    const d = directives(renderAssetsUnit());
    expect(d).toContain(`ExecStart=/usr/bin/node ${PATHS.fetcher} ${PATHS.manifest}`);
    expect(d).toContain('Type=oneshot');
    expect(d).toContain('RemainAfterExit=yes');
  });

  // systemd's own reading of the units, where this machine has systemd-analyze (Debian's systemd package)
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  const noAnalyze = requirement('systemd-analyze', analyze.status === 0, "install Debian's systemd package");
  it.skipIf(noAnalyze)('systemd-analyze verify accepts both units (keys newer than this host\'s systemd aside)', () => {
    const unitDir = mkdtempSync(join(tmpdir(), 'kmip-units-'));
    onTestFinished(() => rmSync(unitDir, { recursive: true, force: true }));
    writeFileSync(join(unitDir, 'kmip.service'), renderServerUnit());
    writeFileSync(join(unitDir, 'kmip-assets.service'), renderAssetsUnit());
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(unitDir, 'kmip-assets.service'), join(unitDir, 'kmip.service')], { encoding: 'utf8', cwd: unitDir });
    const version = Number(/systemd (\d+)/.exec(analyze.stdout)?.[1] ?? 0);
    // RestartSteps and RestartMaxDelaySec came in systemd 254; the nodes' Debian 13 has 257
    const tolerated = version < 254 ? /Unknown key '(RestartSteps|RestartMaxDelaySec)' in section \[Service\], ignoring\./ : /^$/;
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !tolerated.test(l));
    expect(problems).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('the assets unit is retried with backoff for as long as it takes, except for a Node.js too old to ever work', () => {
    const d = directives(renderAssetsUnit());
    for (const required of ['Restart=on-failure', 'RestartSec=10', 'RestartSteps=5', 'RestartMaxDelaySec=300', 'StartLimitIntervalSec=0', `RestartPreventExitStatus=${FETCH_EXIT.nodeTooOld}`]) expect(d, required).toContain(required);
    // Node.js itself is installed again when cloud-init's one attempt failed (a retried start installs it)
    expect(d).toContain(`ExecStartPre=+/bin/sh -c "${NODE_INSTALL}"`);
    expect(NODE_INSTALL).toMatch(/^test -x \/usr\/bin\/node \|\| \{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs; \}$/);
    // a hash mismatch (4) and a failed download (5) are retried: a corrected object must recover the node
    expect(d.join('\n')).not.toMatch(new RegExp(`RestartPreventExitStatus=.*\\b(${FETCH_EXIT.hashMismatch}|${FETCH_EXIT.downloadFailed})\\b`));
  });
});

describe('asset fetcher (run for real against local stand-ins for the metadata service and Object Storage)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmip-fetch-'));
  const good = Buffer.from('console.log("kmip server bundle");\n');
  const tampered = Buffer.from('console.log("evil");\n');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const requests: string[] = [];
  let served = tampered;
  let server: Server;
  let base = '';
  const me = userInfo();
  const groupName = readFileSync('/etc/group', 'utf8').split('\n').find((l) => Number(l.split(':')[2]) === me.gid)?.split(':')[0] ?? 'root';
  const script = join(dir, 'fetch-assets.mjs');
  const IDENTITY = 'instance-identity-token-abc';
  const IAM = 'iam-token-of-the-profile-xyz';

  beforeAll(async () => {
    writeFileSync(script, FETCH_ASSETS_SCRIPT);
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const json = (status: number, doc: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
        if (req.url === '/instance_identity/v1/token?version=2022-03-01') {
          if (req.method !== 'PUT' || req.headers['metadata-flavor'] !== 'ibm') return json(400, { errors: [{ code: 'bad_request' }] });
          return json(200, { access_token: IDENTITY, expires_in: JSON.parse(body).expires_in });
        }
        if (req.url === '/instance_identity/v1/iam_token?version=2022-03-01') {
          if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${IDENTITY}`) return json(401, { errors: [{ code: 'unauthorized' }] });
          if (JSON.parse(body).trusted_profile?.id !== SAMPLE.trustedProfileId) return json(400, { errors: [{ code: 'bad_profile' }] });
          return json(200, { access_token: IAM, expires_in: 3600 });
        }
        if (req.headers.authorization !== `Bearer ${IAM}`) return void res.writeHead(403).end();
        if (req.url === `/bucket/${sha(good)}/kmip-server.mjs`) res.writeHead(200).end(good);
        else if (req.url === `/bucket/${sha(good)}/swapped.mjs`) res.writeHead(200).end(served);
        else res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const run = (m: object, ...flags: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const file = join(dir, `manifest-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(m));
      // Backoff between tries 20 ms instead of 1 s (the units never set it): the retry path without real waiting.
      const child = spawn(process.execPath, [script, ...flags, file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KMIP_ASSETS_BACKOFF_MS: '20' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('close', (code) => resolve({ code, out, err }));
    });
  const manifestFor = (key: string, target: string, mode = '0640') => ({
    endpoint: base,
    bucket: 'bucket',
    metadataEndpoint: base,
    trustedProfileId: SAMPLE.trustedProfileId,
    assets: [{ key, sha256: sha(good), bytes: good.length, path: target, mode, owner: me.username, group: groupName }],
  });

  it('gets an IAM token of the trusted profile from the metadata service, installs an asset whose hash matches, and skips it on the next boot', async () => {
    const target = join(dir, 'opt', 'kmip-server.mjs');
    const m = manifestFor(`${sha(good)}/kmip-server.mjs`, target);
    const first = await run(m);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(readFileSync(target)).toEqual(good);
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(requests).toEqual(expect.arrayContaining(['PUT /instance_identity/v1/token?version=2022-03-01', 'POST /instance_identity/v1/iam_token?version=2022-03-01', `GET /bucket/${sha(good)}/kmip-server.mjs`]));
    const before = requests.length;
    const second = await run(m);
    expect(second.code).toBe(0);
    expect(requests.length).toBe(before); // already verified on disk: no token, no download
    expect(`${first.out}${first.err}`).not.toContain(IAM);
    expect(`${first.out}${first.err}`).not.toContain(IDENTITY);
  });

  it('refuses an object whose SHA-256 is not the pinned one, installs nothing, and installs it once the object is corrected', async () => {
    const target = join(dir, 'opt', 'swapped.mjs');
    const m = manifestFor(`${sha(good)}/swapped.mjs`, target, '0644');
    served = tampered;
    const refused = await run(m);
    expect(refused.code).toBe(FETCH_EXIT.hashMismatch);
    expect(refused.err).toMatch(/REFUSED/);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
    const verify = await run(m, '--verify-only');
    expect(verify.code).toBe(FETCH_EXIT.notInstalled);
    // systemd runs it again (Restart=on-failure): the corrected object is installed without anyone logging in
    served = good;
    const recovered = await run(m);
    expect(recovered.code).toBe(0);
    expect(readFileSync(target)).toEqual(good);
    expect((await run(m, '--verify-only')).code).toBe(0);
  });

  it('a metadata service that refuses the profile ends the run with the download-failed code, for systemd to retry', async () => {
    const m = { ...manifestFor(`${sha(good)}/kmip-server.mjs`, join(dir, 'opt', 'other.mjs')), trustedProfileId: 'Profile-00000000-0000-0000-0000-000000000000' };
    const r = await run(m);
    expect(r.code).toBe(FETCH_EXIT.downloadFailed);
    expect(r.err).toMatch(/IAM token failed .*answered 400/);
    // a few tries inside one run, then systemd's turn
    expect(r.err.match(/IAM token failed \(attempt \d\/4\)/g)).toHaveLength(4);
  });

  it('an object larger than its pinned size is cut off, never held whole, and refused', async () => {
    const target = join(dir, 'opt', 'swapped-big.mjs');
    served = Buffer.concat([good, Buffer.alloc(4 * 1024 * 1024, 0x41)]);
    const r = await run(manifestFor(`${sha(good)}/swapped.mjs`, target, '0644'));
    expect(r.code).toBe(FETCH_EXIT.hashMismatch);
    expect(r.err).toMatch(new RegExp(`REFUSED ${sha(good)}/swapped.mjs: SHA-256 of an object larger than the pinned ${good.length} bytes is not the pinned`));
    expect(existsSync(target)).toBe(false);
  });

  it('asks the metadata service the same API version as the server does (both pin the one whose paths virtual servers serve)', () => {
    expect(FETCH_ASSETS_SCRIPT).toContain(`?version=${SERVER_METADATA_API_VERSION}`);
    expect(METADATA_API_VERSION).toBe(SERVER_METADATA_API_VERSION);
  });

  it('declares the Node.js version it needs (Debian 13 packages 20.19)', () => {
    expect(MIN_NODE_VERSION).toBe('20.18.0');
    expect(FETCH_ASSETS_SCRIPT).toContain("'20.18.0'.split('.')");
    expect(FETCH_ASSETS_SCRIPT).not.toMatch(/\$\{|%\{/);
  });
});
