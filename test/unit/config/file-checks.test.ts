/**
 * Every file a configuration names is checked with the schema's problems (server/init/check-files.ts
 * through the parseConfig hook): one ConfigError lists them all, file problems included.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../server/config/load.js';
import { configFileProblems } from '../../../server/init/check-files.js';
import { namedFiles } from '../../../server/init/named-files.js';

const dir = mkdtempSync(join(tmpdir(), 'kmip-file-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration file checks', () => {
  it('names every file the server reads, by where the config names it', () => {
    const doc = {
      admin: { tokenFile: 't', tls: { certFile: 'ac', keyFile: 'ak', clientCaFile: 'aca' } },
      tls: { certFile: 'c', keyFile: 'k', clientCaFile: 'ca', ticketKeyFile: 'tk' },
      store: { kind: 'postgres', caFile: 'dbca' },
      wrap: { kind: 'keyprotect', apiKeyFile: 'api' },
    };
    expect(namedFiles(doc).map((f) => f.at)).toEqual([
      'tls.certFile', 'tls.keyFile', 'tls.clientCaFile', 'tls.ticketKeyFile',
      'admin.tokenFile', 'admin.tls.certFile', 'admin.tls.keyFile', 'admin.tls.clientCaFile',
      'store.caFile', 'wrap.apiKeyFile',
    ]);
    // A disabled admin port reads none of its files.
    expect(namedFiles({ ...doc, admin: { ...doc.admin, enabled: false } }).map((f) => f.at)).not.toContain('admin.tokenFile');
  });

  it('reports schema and file problems in one error', () => {
    writeFileSync(join(dir, 'api-key'), '  \n', { mode: 0o600 });
    const doc = {
      listen: { port: -1 },
      tls: { certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'nope-key.pem') },
      store: { kind: 'postgres' },
      wrap: { kind: 'keyprotect', region: 'us-south', instanceId: '0f4b6f2e-8e0d-4b5c-9d55-3f1f1b1f1b1f', rootKeyId: 'k', apiKeyFile: join(dir, 'api-key') },
    };
    const saved = process.env['DATABASE_URL'];
    delete process.env['DATABASE_URL'];
    try {
      let err: unknown;
      try {
        parseConfig(doc, 'test', configFileProblems);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        expect.stringMatching(/^listen\.port: /),
        expect.stringMatching(/^tls\.certFile: .*nope\.pem does not exist \(kmip-server init --config FILE creates it\)$/),
        expect.stringMatching(/^tls\.keyFile: .*nope-key\.pem does not exist/),
        expect.stringMatching(/^wrap\.apiKeyFile: .*api-key is empty$/),
        'store.url: not given and DATABASE_URL is not set (give one of them)',
      ]);
    } finally {
      if (saved !== undefined) process.env['DATABASE_URL'] = saved;
    }
  });
});
