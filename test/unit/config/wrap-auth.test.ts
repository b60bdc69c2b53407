/** wrap.auth: the Key Protect client authenticating as the VPC instance's trusted profile. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../server/config/load.js';

const PROFILE = 'Profile-8dd84246-7df4-4667-94e4-8cede51d5ac5';
const base = {
  tls: { certFile: '/etc/kmip/server.pem', keyFile: '/etc/kmip/server-key.pem' },
  store: { kind: 'sqlite', path: '/var/lib/kmip/kmip.db' },
};
const kp = { kind: 'keyprotect', region: 'us-south', instanceId: '1d4bb3a6-5a0e-4a2e-9a4b-0f0b6b6b0a11', rootKeyId: 'k' };

function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('wrap.auth (trusted profile)', () => {
  it('takes a trusted profile, with the metadata service at its link-local address by default', () => {
    const c = parseConfig({ ...base, wrap: { ...kp, auth: { kind: 'trustedProfile', profileId: PROFILE } } });
    expect(c.wrap).toMatchObject({ kind: 'keyprotect', endpoint: 'private', auth: { kind: 'trustedProfile', profileId: PROFILE, metadataEndpoint: 'http://169.254.169.254' } });
    expect(Object.isFrozen((c.wrap as { auth: object }).auth)).toBe(true);
    for (const metadataEndpoint of ['http://169.254.169.254', 'http://api.metadata.cloud.ibm.com', 'https://api.metadata.cloud.ibm.com', 'http://127.0.0.1:8080/']) {
      expect(parseConfig({ ...base, wrap: { ...kp, auth: { kind: 'trustedProfile', profileId: PROFILE, metadataEndpoint } } }).wrap).toMatchObject({ auth: { metadataEndpoint } });
    }
  });

  it('takes exactly one credential source: an API key (file or environment) or auth', () => {
    const auth = { kind: 'trustedProfile', profileId: PROFILE };
    for (const wrap of [kp, { ...kp, apiKeyFile: '/etc/kmip/api-key', auth }, { ...kp, apiKeyEnv: 'KP_API_KEY', auth }, { ...kp, apiKeyFile: '/k', apiKeyEnv: 'K' }]) {
      expect(problems({ ...base, wrap })).toEqual(['wrap.apiKeyFile: exactly one of apiKeyFile or apiKeyEnv (an API key) or auth (a trusted profile) is required']);
    }
    expect(parseConfig({ ...base, wrap: { ...kp, apiKeyFile: '/etc/kmip/api-key' } }).wrap).not.toHaveProperty('auth');
  });

  it('reports every problem at once, each with its path, the credential rule included', () => {
    const found = problems({
      ...base,
      listen: { port: 70000 },
      wrap: { ...kp, region: 'Dallas', apiKeyEnv: 'KP_API_KEY', auth: { kind: 'trustedProfile', profileId: 'my-profile', metadataEndpoint: 'http://10.0.0.1', extra: true } },
    }).join('\n');
    for (const expected of [
      'listen.port:',
      'wrap.region:',
      'wrap.auth.profileId: must be a trusted profile ID such as Profile-',
      'wrap.auth.metadataEndpoint: must be http://169.254.169.254, https://api.metadata.cloud.ibm.com',
      'wrap.auth: Unrecognized key: "extra"',
      'wrap.apiKeyFile: exactly one of apiKeyFile or apiKeyEnv',
    ]) {
      expect(found).toContain(expected);
    }
  });

  it('refuses other kinds, and metadata endpoints with a path, query or credentials', () => {
    expect(problems({ ...base, wrap: { ...kp, auth: { kind: 'apiKey', profileId: PROFILE } } }).join('\n')).toMatch(/^wrap\.auth\.kind: /m);
    for (const metadataEndpoint of ['http://169.254.169.254/instance_identity/v1', 'https://api.metadata.cloud.ibm.com?x=1', 'https://user:pw@api.metadata.cloud.ibm.com', 'not a url']) {
      expect(problems({ ...base, wrap: { ...kp, auth: { kind: 'trustedProfile', profileId: PROFILE, metadataEndpoint } } }).join('\n'), metadataEndpoint).toMatch(/^wrap\.auth\.metadataEndpoint: /m);
    }
    // Not a URL at all is a reported problem too, not a crash of the URL checks.
    expect(problems({ ...base, wrap: { ...kp, apiKeyEnv: 'K', iamEndpoint: 'not a url' } }).join('\n')).toMatch(/^wrap\.iamEndpoint: /m);
  });
});
