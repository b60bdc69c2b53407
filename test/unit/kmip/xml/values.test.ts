/** Known values of the XML encoding, from the forms KMIP Profiles 1.4 §5.4 and 2.1 write and the OASIS test cases use. */
import { describe, expect, it } from 'vitest';
import { ItemType } from '../../../../server/ttlv/index.js';
import { CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, KeyFormatType, NameType, ObjectType, Operation, State } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import { decodeXml, encodeXml } from '../../../../server/kmip/xml/index.js';

const one = (xml: string) => decodeXml(xml);
const ENCRYPT_DECRYPT = CryptographicUsageMask.Encrypt | CryptographicUsageMask.Decrypt;

describe('XML encoding: known values', () => {
  it('reads each item type', () => {
    expect(one('<BatchCount type="Integer" value="1"/>')).toEqual({ tag: Tag.BatchCount, type: ItemType.Integer, value: 1 });
    expect(one('<BatchCount type="Integer" value="0xFFFFFFFF"/>')).toEqual({ tag: Tag.BatchCount, type: ItemType.Integer, value: -1 });
    expect(one('<BatchCount type="Integer" value="-2147483648"/>')).toMatchObject({ value: -0x80000000 });
    expect(one('<UsageLimitsTotal type="LongInteger" value="1234567890123"/>')).toEqual({ tag: Tag.UsageLimitsTotal, type: ItemType.LongInteger, value: 1234567890123n });
    expect(one('<UsageLimitsTotal type="LongInteger" value="0xFFFFFFFFFFFFFFFF"/>')).toMatchObject({ value: -1n });
    expect(one('<PublicExponent type="BigInteger" value="0000000000010001"/>')).toEqual({ tag: Tag.PublicExponent, type: ItemType.BigInteger, value: 65537n });
    expect(one('<PublicExponent type="BigInteger" value="FFFFFFFFFFFFFFFF"/>')).toMatchObject({ value: -1n });
    expect(one('<Sensitive type="Boolean" value="true"/>')).toEqual({ tag: Tag.Sensitive, type: ItemType.Boolean, value: true });
    expect(one('<Sensitive type="Boolean" value="false"/>')).toMatchObject({ value: false });
    expect(one('<NameValue type="TextString" value="a &lt;b&gt; &amp; &quot;c&quot; &#x41;&#66;"/>')).toMatchObject({ value: 'a <b> & "c" AB' });
    expect(one('<KeyMaterial type="ByteString" value="0123456789ABCDEF"/>')).toEqual({
      tag: Tag.KeyMaterial,
      type: ItemType.ByteString,
      value: new Uint8Array([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
    });
    expect(one('<LeaseTime type="Interval" value="3600"/>')).toEqual({ tag: Tag.LeaseTime, type: ItemType.Interval, value: 3600 });
  });

  it('reads ISO 8601 dates with their zone, and hex dates', () => {
    // 2000-02-02T00:00:00+10:00 is 2000-02-01T14:00:00Z (SKLC-O-1 and OMOS write dates like this).
    expect(one('<ActivationDate type="DateTime" value="2000-02-02T00:00:00+10:00"/>')).toMatchObject({ value: BigInt(Date.UTC(2000, 1, 1, 14) / 1000) });
    expect(one('<ActivationDate type="DateTime" value="1970-01-01T00:00:06+00:00"/>')).toMatchObject({ value: 6n });
    expect(one('<ActivationDate type="DateTime" value="1970-01-01T00:00:06Z"/>')).toMatchObject({ value: 6n });
    expect(one('<ActivationDate type="DateTime" value="0x0000000047DA67F8"/>')).toMatchObject({ value: 0x47da67f8n });
    expect(one('<TimeStamp type="DateTimeExtended" value="2001-01-01T10:00:00.000001+00:00"/>')).toEqual({
      tag: Tag.TimeStamp,
      type: ItemType.DateTimeExtended,
      value: BigInt(Date.UTC(2001, 0, 1, 10)) * 1000n + 1n,
    });
    expect(encodeXml({ tag: Tag.ActivationDate, type: ItemType.DateTime, value: 6n })).toBe('<ActivationDate type="DateTime" value="1970-01-01T00:00:06+00:00"/>');
  });

  it('names enumerations from the spec tables (CamelCase and the underscore forms) and reads hex', () => {
    expect(one('<Operation type="Enumeration" value="Create"/>')).toMatchObject({ value: Operation.Create });
    expect(one('<ObjectType type="Enumeration" value="SymmetricKey"/>')).toMatchObject({ value: ObjectType.SymmetricKey });
    expect(one('<HashingAlgorithm type="Enumeration" value="SHA_256"/>')).toMatchObject({ value: HashingAlgorithm.SHA_256 });
    expect(one('<KeyFormatType type="Enumeration" value="PKCS_1"/>')).toMatchObject({ value: KeyFormatType.PKCS_1 });
    expect(one('<MaskGeneratorHashingAlgorithm type="Enumeration" value="SHA_512"/>')).toMatchObject({ value: HashingAlgorithm.SHA_512 });
    expect(one('<OpaqueDataType type="Enumeration" value="0x80000001"/>')).toMatchObject({ value: 0x80000001 });
    expect(one('<AttributeReference type="Enumeration" value="State"/>')).toMatchObject({ value: Tag.State });
    expect(encodeXml({ tag: Tag.State, type: ItemType.Enumeration, value: State.PreActive })).toBe('<State type="Enumeration" value="PreActive"/>');
    expect(encodeXml({ tag: Tag.State, type: ItemType.Enumeration, value: 0x8000_0001 })).toBe('<State type="Enumeration" value="0x80000001"/>');
  });

  it('reads masks as names joined by spaces or "|", or as hex, and writes names', () => {
    for (const value of ['Encrypt Decrypt', 'Decrypt Encrypt', 'Encrypt|Decrypt', 'Encrypt | Decrypt', '0x0000000C', '12', 'Encrypt 0x00000008']) {
      expect(one(`<CryptographicUsageMask type="Integer" value="${value}"/>`), value).toMatchObject({ value: ENCRYPT_DECRYPT });
    }
    expect(encodeXml({ tag: Tag.CryptographicUsageMask, type: ItemType.Integer, value: ENCRYPT_DECRYPT })).toBe('<CryptographicUsageMask type="Integer" value="Encrypt Decrypt"/>');
  });

  it('names a 1.x Attribute Value by its Attribute Name', () => {
    const attribute = one(
      `<TemplateAttribute>
         <Attribute><AttributeName type="TextString" value="Cryptographic Algorithm"/><AttributeValue type="Enumeration" value="AES"/></Attribute>
         <Attribute><AttributeName type="TextString" value="Cryptographic Usage Mask"/><AttributeValue type="Integer" value="Encrypt Decrypt"/></Attribute>
         <Attribute><AttributeName type="TextString" value="Name"/><AttributeValue>
           <NameValue type="TextString" value="SKLC-M-1-14"/><NameType type="Enumeration" value="UninterpretedTextString"/>
         </AttributeValue></Attribute>
       </TemplateAttribute>`,
    );
    expect(attribute).toEqual({
      tag: Tag.TemplateAttribute,
      type: ItemType.Structure,
      value: [
        { tag: Tag.Attribute, type: ItemType.Structure, value: [{ tag: Tag.AttributeName, type: ItemType.TextString, value: 'Cryptographic Algorithm' }, { tag: Tag.AttributeValue, type: ItemType.Enumeration, value: CryptographicAlgorithm.AES }] },
        { tag: Tag.Attribute, type: ItemType.Structure, value: [{ tag: Tag.AttributeName, type: ItemType.TextString, value: 'Cryptographic Usage Mask' }, { tag: Tag.AttributeValue, type: ItemType.Integer, value: ENCRYPT_DECRYPT }] },
        {
          tag: Tag.Attribute,
          type: ItemType.Structure,
          value: [
            { tag: Tag.AttributeName, type: ItemType.TextString, value: 'Name' },
            { tag: Tag.AttributeValue, type: ItemType.Structure, value: [{ tag: Tag.NameValue, type: ItemType.TextString, value: 'SKLC-M-1-14' }, { tag: Tag.NameType, type: ItemType.Enumeration, value: NameType.UninterpretedTextString }] },
          ],
        },
      ],
    });
    // "AES" names a Cryptographic Algorithm, not an Object Type: the name decides.
    expect(() => one('<Attribute><AttributeName type="TextString" value="Object Type"/><AttributeValue type="Enumeration" value="AES"/></Attribute>')).toThrow(/enumeration name/);
  });

  it('writes unknown and extension tags as TTLV elements and reads them back', () => {
    const item = { tag: 0x540000, type: ItemType.TextString, value: 'vendor' } as const;
    const xml = encodeXml(item);
    expect(xml).toBe('<TTLV tag="0x540000" type="TextString" value="vendor"/>');
    expect(one(xml)).toEqual(item);
    expect(one('<TTLV tag="0x420094" type="TextString" value="x"/>')).toEqual({ tag: Tag.UniqueIdentifier, type: ItemType.TextString, value: 'x' });
  });

  it('writes a Structure without a type attribute and reads an absent type as Structure', () => {
    const tree = { tag: Tag.ProtocolVersion, type: ItemType.Structure, value: [{ tag: Tag.ProtocolVersionMajor, type: ItemType.Integer, value: 1 }] } as const;
    expect(encodeXml(tree, { indent: 0 })).toBe('<ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/></ProtocolVersion>');
    expect(one('<ProtocolVersion type="Structure">\n  <ProtocolVersionMajor type="Integer" value="1"/>\n</ProtocolVersion>')).toEqual(tree);
  });
});
