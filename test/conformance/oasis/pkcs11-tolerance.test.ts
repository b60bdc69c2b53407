/** The PKCS#11 library information tolerance: only C_GetInfo's CK_INFO, and only its vendor fields. */
import { describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { Operation } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { TOLERANCES, type ToleranceContext } from './tolerances.js';

const tolerance = TOLERANCES.find((t) => t.name === 'PKCS#11 library information')!;

/** PKCS11-M-1-21's expected CK_INFO. */
const FILE_CK_INFO =
  '022854455354202020202020507479204c7464202020202020202020202020202020000000000000000054455354202020202020202020202020202020202020202020202020202020200100';

const bytesItem = (hex: string): TtlvItem => ({ tag: Tag.PKCS_11OutputParameters, type: ItemType.ByteString, value: new Uint8Array(Buffer.from(hex, 'hex')) });
const fnItem = (value: number): TtlvItem => ({ tag: Tag.PKCS_11Function, type: ItemType.Enumeration, value });
const pad = (text: string) => Buffer.from(text.padEnd(32, ' '), 'ascii').toString('hex');
const ckInfo = (o: { version?: string; maker?: string; flags?: string; description?: string; lib?: string } = {}) =>
  `${o.version ?? '0228'}${o.maker ?? pad('kmip-for-vmware')}${o.flags ?? '0000000000000000'}${o.description ?? pad('PKCS#11 over KMIP, no slots')}${o.lib ?? '0001'}`;

function ctx(operation: number, fn: number, tags: number[] = [Tag.ResponseMessage, Tag.BatchItem, Tag.ResponsePayload]): ToleranceContext {
  return { caseName: 'PKCS11-M-1-21', step: 1, tags, generatedObject: false, operation, asymmetricObject: false, siblings: [fnItem(fn)] };
}

describe('PKCS#11 library information tolerance', () => {
  const expected = bytesItem(FILE_CK_INFO);

  it('applies to the Output Parameters of C_GetInfo in a PKCS#11 response payload only', () => {
    expect(tolerance.applies(expected, ctx(Operation.PKCS_11, 3))).toBe(true);
    expect(tolerance.applies(expected, ctx(Operation.PKCS_11, 5))).toBe(false); // C_GetSlotList
    expect(tolerance.applies(expected, ctx(Operation.Query, 3))).toBe(false);
    expect(tolerance.applies(expected, ctx(Operation.PKCS_11, 3, [Tag.RequestMessage, Tag.BatchItem, Tag.RequestPayload]))).toBe(false);
    expect(tolerance.applies({ ...expected, tag: Tag.Data }, ctx(Operation.PKCS_11, 3))).toBe(false);
  });

  it('accepts another vendor\'s CK_INFO of the same layout, cryptokiVersion and flags', () => {
    expect(tolerance.accepts(expected, bytesItem(FILE_CK_INFO))).toBe(true);
    expect(tolerance.accepts(expected, bytesItem(ckInfo()))).toBe(true);
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ lib: '0309' })))).toBe(true);
  });

  it('refuses anything else', () => {
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ version: '0300' })))).toBe(false); // cryptokiVersion
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ flags: '0000000000000001' })))).toBe(false);
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ maker: `6b6d6970${'00'.repeat(28)}` })))).toBe(false); // NUL padded
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ description: pad('') })))).toBe(false); // blank
    expect(tolerance.accepts(expected, bytesItem(ckInfo({ description: `${pad('x').slice(0, 62)}ff` })))).toBe(false); // not ASCII
    expect(tolerance.accepts(expected, bytesItem(`${ckInfo()}00`))).toBe(false); // 77 bytes
    expect(tolerance.accepts(expected, bytesItem(ckInfo().slice(0, -2)))).toBe(false); // 75 bytes
    expect(tolerance.accepts(expected, { tag: Tag.PKCS_11OutputParameters, type: ItemType.TextString, value: 'x'.repeat(76) })).toBe(false);
  });
});
