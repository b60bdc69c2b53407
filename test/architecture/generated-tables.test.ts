import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedDir, generateFiles } from '../../server/kmip/spec/generate.js';
import { Tag } from '../../server/kmip/generated/tags.js';
import { ObjectType, ResultReason, CryptographicUsageMask } from '../../server/kmip/generated/enums.js';

describe('generated KMIP tables', () => {
  it('match what the generator writes from the spec data file (run `npm run gen:kmip` after editing the spec)', () => {
    const files = generateFiles();
    expect(Object.keys(files).sort()).toEqual(['enums.ts', 'tags.ts']);
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(new URL(name, generatedDir()), 'utf8'), `server/kmip/generated/${name} is stale`).toBe(text);
    }
  });

  it('notice a change of the spec data', () => {
    const spec = readFileSync(new URL('../../server/kmip/spec/kmip-spec-tables.json', import.meta.url), 'utf8');
    const edited = spec.replace('"name": "ActivationDate"', '"name": "ActivationDay"');
    expect(edited).not.toBe(spec);
    expect(generateFiles(edited)['tags.ts']).not.toBe(generateFiles(spec)['tags.ts']);
  });

  it('carry values from the spec', () => {
    expect(Tag.RequestMessage).toBe(0x420078);
    expect(Tag.UniqueBatchItemID).toBe(0x420093);
    expect(ObjectType.SymmetricKey).toBe(2);
    expect(ResultReason.GeneralFailure).toBe(0x100);
    expect(CryptographicUsageMask.Decrypt).toBe(8);
  });
});
