/**
 * The import rule for server/vcenter (test/architecture/import-rules.ts): the vCenter client stays
 * apart from the key server, and kmipctl may use it. The whole-tree check runs in test/architecture.
 */
import { describe, expect, it } from 'vitest';
import { importsOf, violations } from '../../architecture/import-rules.js';

describe('server/vcenter import rule', () => {
  it('allows node builtins, zod, node-forge and its own files', () => {
    const ok = importsOf(
      'server/vcenter/register.ts',
      "import { X509Certificate } from 'node:crypto'; import { z } from 'zod'; import forge from 'node-forge'; import { VcenterError } from './errors.js';",
    );
    expect(ok).toHaveLength(4);
    expect(violations(ok)).toEqual([]);
  });

  it('refuses the key server, other packages, and lets kmipctl import it', () => {
    for (const src of ["import { KeyStore } from '../store/store.js';", "import { Tag } from '../kmip/generated/tags.js';", "import { CliError } from '../cli/client.js';", "import { request } from 'undici';"]) {
      expect(violations(importsOf('server/vcenter/session.ts', src)), src).not.toEqual([]);
    }
    expect(violations(importsOf('server/cli/commands/vcenter.ts', "import { VcenterSession } from '../../vcenter/session.js';"))).toEqual([]);
  });
});
