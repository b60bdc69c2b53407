import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../../server/config/load.js';
import { isLoopbackHost } from '../../../server/config/schema.js';

// Issue 18, item 9: a bearer token must not cross the network in clear.
const minimal = {
  tls: { certFile: '/etc/kmip/server.pem', keyFile: '/etc/kmip/server-key.pem' },
  store: { kind: 'sqlite', path: '/var/lib/kmip/kmip.db' },
  wrap: { kind: 'local', keyFile: '/var/lib/kmip/root-key.json' },
};
const tokenFile = '/etc/kmip/admin-token';

function problemsOf(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('admin token over plain HTTP', () => {
  it('refuses a token-authenticated admin port on a non-loopback host without admin.tls, and says why', () => {
    for (const host of ['0.0.0.0', '10.0.0.5', '::', 'kmip-1.example.com']) {
      const problems = problemsOf({ ...minimal, admin: { host, tokenFile } });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^admin\.tokenFile: .*needs admin\.tls: the bearer token would cross the network in clear/);
      expect(problems[0]).toMatch(/admin\.allowPlaintextToken/);
    }
  });

  it('reports it with every other problem of the file (one ConfigError, exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmip-config-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ ...minimal, listen: { port: -1 }, admin: { host: '0.0.0.0', tokenFile, port: 70_000 } }));
      let error: unknown;
      try {
        loadConfigFile(file);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/listen\.port/);
      expect(problems).toMatch(/admin\.port/);
      expect(problems).toMatch(/admin\.tokenFile: .*cross the network in clear/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts loopback, admin.tls, no token, a disabled admin port, or the explicit opt-in', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(true);
      expect(problemsOf({ ...minimal, admin: { host, tokenFile } })).toEqual([]);
    }
    expect(problemsOf({ ...minimal, admin: { tokenFile } })).toEqual([]);
    expect(problemsOf({ ...minimal, admin: { host: '0.0.0.0', tokenFile, tls: { certFile: '/c.pem', keyFile: '/k.pem' } } })).toEqual([]);
    expect(problemsOf({ ...minimal, admin: { host: '0.0.0.0' } })).toEqual([]);
    expect(problemsOf({ ...minimal, admin: { host: '0.0.0.0', tokenFile, enabled: false } })).toEqual([]);
    const allowed = parseConfig({ ...minimal, admin: { host: '10.0.0.5', tokenFile, allowPlaintextToken: true } });
    expect(allowed.admin).toMatchObject({ host: '10.0.0.5', tokenFile, allowPlaintextToken: true });
    expect(problemsOf({ ...minimal, admin: { host: '10.0.0.5', tokenFile, allowPlaintextToken: 'yes' } }).join('\n')).toMatch(/admin\.allowPlaintextToken/);
    for (const host of ['0.0.0.0', '10.0.0.5', '::', '128.0.0.1', 'localhost.example.com', '127.0.0.1.example.com']) expect(isLoopbackHost(host)).toBe(false);
  });
});
