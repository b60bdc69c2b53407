/**
 * Query(Server Information) through a real third-party 1.x client, Debian's python3-pykmip: 1.1 (what
 * vCenter speaks) gets no Server Information, 1.2 and 1.4 get the structure empty, and the client
 * decodes both.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, pykmipAvailable, requirement } from '../support/env.js';
import { startTestServer, type TestServer } from '../support/server.js';
import type { TestClientCert } from '../support/pki.js';

const skip = requirement('PyKMIP (python3-pykmip for /usr/bin/python3)', pykmipAvailable(), 'apt-get install python3-pykmip');
const script = fileURLToPath(new URL('../interop/pykmip_query.py', import.meta.url));

interface Step {
  ok: boolean;
  value?: { vendor: string | null; server_information_bytes: number | null };
  error?: string;
}

describe.skipIf(skip)('PyKMIP Query(Server Information)', () => {
  let server: TestServer;
  let cert: TestClientCert;
  beforeAll(async () => {
    server = await startTestServer();
    ({ cert } = await server.tenant('pykmip-query'));
  });
  afterAll(() => server?.close());

  const ask = async (version: string): Promise<Step['value']> => {
    const { stdout } = await promisify(execFile)(PYTHON, [script, '127.0.0.1', String(server.port), cert.certFile, cert.keyFile, server.pki.caFile, version], { timeout: 60_000 });
    const step = (JSON.parse(stdout) as { steps: Record<string, Step> }).steps['query_server_information']!;
    expect(step, step.error).toMatchObject({ ok: true });
    return step.value;
  };

  it('sends none to a 1.1 client and an empty structure to 1.2 and 1.4 clients', async () => {
    const v11 = await ask('1.1');
    expect(v11?.vendor).toEqual(expect.any(String));
    expect(v11?.server_information_bytes).toBeNull();
    for (const version of ['1.2', '1.4']) {
      const answer = await ask(version);
      expect(answer?.vendor, version).toEqual(expect.any(String));
      expect(answer?.server_information_bytes, version).toBe(0);
    }
  });
});
