import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cycles, importsOf, loadEdges, violations } from './import-rules.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('import rules (DESIGN.md, style-anchors §5.1)', () => {
  const edges = loadEdges(root, ['server', 'modules', 'stacks']);

  it('sees the source tree', () => {
    expect(edges.length).toBeGreaterThan(20);
    expect(edges.some((e) => e.from.startsWith('server/ttlv/'))).toBe(true);
  });

  it('no file breaks a rule', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('no import cycles', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('the checker catches forbidden imports (so a green result means something)', () => {
    const bad = [
      ...importsOf('server/ttlv/decode.ts', "import { Tag } from '../kmip/generated/tags.js';"),
      ...importsOf('server/kmip/operations/get.ts', "import { SqliteStore } from '../../store/sqlite.js';"),
      ...importsOf('server/kmip/operations/get.ts', "import { KeyStore } from '../../store/store.js';"),
      ...importsOf('server/kmip/batch.ts', "import pino from 'pino';"),
      ...importsOf('server/wrap/local.ts', "const m = await import('../store/store.js');"),
      ...importsOf('stacks/main.ts', "export * from '../server/app.js';"),
      ...importsOf('modules/vpc/plan.ts', "import { Fn } from 'cdktf';"),
    ];
    expect(bad).toHaveLength(7);
    for (const edge of bad) expect(violations([edge]), `${edge.from} → ${edge.to}`).not.toEqual([]);
    expect(violations(bad).join('\n')).toMatch(/must import server\/store\/store.ts with "import type"/);
  });

  it('accepts type-only imports of the store interface from operations', () => {
    expect(violations(importsOf('server/kmip/operations/get.ts', "import type { KeyStore } from '../../store/store.js';"))).toEqual([]);
  });

  it('the cycle finder finds a cycle', () => {
    const found = cycles([
      ...importsOf('server/a.ts', "import './b.js';"),
      ...importsOf('server/b.ts', "import './a.js';"),
    ]);
    expect(found).toEqual([['server/a.ts', 'server/b.ts', 'server/a.ts']]);
  });
});
