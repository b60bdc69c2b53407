/**
 * `kmipctl vcenter usage --publish` when the server will not take the report: vCenter was read, so the
 * command fails with exit 1, and the code says why (a down server, a refused token) as any other command's would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../../server/cli/client.js';
import { vcenterCommands } from '../../../server/cli/commands/vcenter.js';
import { cliCode, CliError, errorDocument } from '../../../server/cli/errors.js';
import { parseCli } from '../../../server/cli/options.js';
import { FakeVcenter } from '../../support/fake-vcenter.js';

describe('vcenter usage --publish, when publishing fails', () => {
  let fake: FakeVcenter;
  let dir: string;
  let admin: Server;
  let adminUrl: string;
  /** What the fake admin port answers: status and JSON body. */
  let answer: [number, unknown] = [401, { error: 'unauthorized' }];

  beforeAll(async () => {
    fake = await FakeVcenter.start({ version: '8.0.2' });
    fake.crypto.seed({ id: 'kp-ours' });
    dir = mkdtempSync(join(tmpdir(), 'publish-fail-'));
    writeFileSync(join(dir, 'password'), `${fake.password}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), fake.ca.certificatePem);
    admin = createServer((_req, res) => {
      res.writeHead(answer[0], { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer[1]));
    });
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => admin?.close(r));
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function publishTo(url: string): Promise<CliError> {
    const { values: options, positionals: args } = parseCli(['vcenter', 'usage', '--vcenter', fake.url, '--vcenter-user', fake.user, '--vcenter-password-file', join(dir, 'password'), '--vcenter-ca', join(dir, 'ca.pem'), '--provider', 'kp-ours', '--publish']);
    const printed: unknown[] = [];
    const err = await vcenterCommands['vcenter usage']!({
      args,
      options,
      out: { json: true, result: (data) => void printed.push(data) },
      client: () => new ManagementClient({ url, token: 'not-the-token' }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(printed).toEqual([]);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/^vCenter was read, but publishing the report to the server failed: /);
    return err as CliError;
  }

  it('a server that is down is UNREACHABLE (exit 1), not FAILED', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await publishTo(`http://127.0.0.1:${port}`);
    expect(err.exitCode).toBe(1);
    expect(cliCode(err)).toBe('UNREACHABLE');
    expect(err.message).toMatch(/cannot reach the server/);
  });

  it('a refused token is UNAUTHORIZED (exit 1), not FAILED', async () => {
    answer = [401, { error: 'unauthorized' }];
    const err = await publishTo(adminUrl);
    expect(err.exitCode).toBe(1);
    expect(cliCode(err)).toBe('UNAUTHORIZED');
    expect(errorDocument(err)).toMatchObject({ code: 'UNAUTHORIZED', error: expect.stringMatching(/unauthorized$/) });
  });

  it('a report the server calls invalid is exit 1 (vCenter was read), so its code follows the exit code: FAILED, not USAGE', async () => {
    answer = [400, { error: 'the report is invalid' }];
    const err = await publishTo(adminUrl);
    expect(err.exitCode).toBe(1);
    expect(cliCode(err)).toBe('FAILED');
  });
});
