import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../server/config/load.js';
import { SERVER_VERSION } from '../../../server/version-info.js';

const minimal = {
  tls: { certFile: '/etc/kmip/server.pem', keyFile: '/etc/kmip/server-key.pem' },
  store: { kind: 'sqlite', path: '/var/lib/kmip/kmip.db' },
  wrap: { kind: 'local', keyFile: '/var/lib/kmip/root-key.json' },
};

describe('server configuration', () => {
  it('fills safe defaults and freezes the result', () => {
    const c = parseConfig(minimal);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 5696 });
    expect(c.admin).toEqual({ enabled: true, host: '127.0.0.1', port: 9696, requestTimeoutMs: 30_000 });
    expect(parseConfig({ ...minimal, admin: { port: 9000 } }).admin.requestTimeoutMs).toBe(30_000);
    expect(c.limits.maxMessageSize).toBe(1024 * 1024);
    expect(c.identity.cacheSeconds).toBe(2);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
  });

  it('reports every problem at once, each with its path', () => {
    try {
      parseConfig({ listen: { port: -1, host: '' }, tls: {}, store: { kind: 'postgres', poolSize: 0 }, wrap: { kind: 'keyprotect', region: 'Dallas', instanceId: 'x' }, surprise: true });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const path of ['listen.port', 'listen.host', 'tls.certFile', 'tls.keyFile', 'store.poolSize', 'wrap.region', 'wrap.instanceId', 'wrap.rootKeyId']) {
        expect(problems).toContain(path);
      }
      expect(problems).toMatch(/surprise/);
      expect((err as ConfigError).code).toBe('CFG_ERR_INVALID');
    }
  });

  it('requires exactly one source for the Key Protect API key', () => {
    const kp = { kind: 'keyprotect', region: 'us-south', instanceId: '1d4bb3a6-5a0e-4a2e-9a4b-0f0b6b6b0a11', rootKeyId: 'k' };
    expect(() => parseConfig({ ...minimal, wrap: kp })).toThrowError(/exactly one of apiKeyFile or apiKeyEnv/);
    expect(parseConfig({ ...minimal, wrap: { ...kp, apiKeyEnv: 'KP_API_KEY' } }).wrap).toMatchObject({ endpoint: 'private', cacheSeconds: 60 });
  });

  it('reports the same version as package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SERVER_VERSION).toBe(pkg.version);
  });
});
