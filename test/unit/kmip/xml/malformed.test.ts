/** Malformed or hostile XML is a KmipError with Invalid Message, never another exception or a hang. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KmipError } from '../../../../server/kmip/errors.js';
import { ResultReason } from '../../../../server/kmip/generated/enums.js';
import { decodeXml, decodeXmlMessages, parseXml } from '../../../../server/kmip/xml/index.js';
import { prng } from '../../../support/prng.js';
import { FIXTURES } from '../../../conformance/oasis/load.js';

const ci = process.env['CI'] === 'true';
const MUTATIONS = ci ? 20_000 : 3_000;

function rejected(xml: string): KmipError {
  try {
    decodeXmlMessages(xml);
  } catch (error) {
    expect(error).toBeInstanceOf(KmipError);
    expect((error as KmipError).reason).toBe(ResultReason.InvalidMessage);
    return error as KmipError;
  }
  throw new Error(`accepted: ${xml.slice(0, 80)}`);
}

function decodesOrRejects(xml: string): void {
  try {
    decodeXmlMessages(xml, { limits: { maxChars: 1 << 20, maxDepth: 32, maxElements: 10_000, maxAttributes: 8 } });
  } catch (error) {
    if (!(error instanceof KmipError) || error.reason !== ResultReason.InvalidMessage) throw error;
  }
}

describe('XML encoding: malformed input', () => {
  it.each([
    ['empty text', ''],
    ['only a comment', '<!-- nothing -->'],
    ['text outside the root', 'hello <BatchCount type="Integer" value="1"/>'],
    ['unclosed element', '<RequestMessage><BatchCount type="Integer" value="1"/>'],
    ['mismatched end tag', '<RequestMessage></ResponseMessage>'],
    ['unterminated start tag', '<BatchCount type="Integer" value="1"'],
    ['unquoted attribute', '<BatchCount type=Integer value="1"/>'],
    ['duplicate attribute', '<BatchCount type="Integer" type="Integer" value="1"/>'],
    ['unknown entity', '<NameValue type="TextString" value="&bogus;"/>'],
    ['bare ampersand', '<NameValue type="TextString" value="a & b"/>'],
    ['character reference out of range', '<NameValue type="TextString" value="&#x110000;"/>'],
    ['unterminated comment', '<!-- <BatchCount type="Integer" value="1"/>'],
    ['DOCTYPE (entity expansion)', '<!DOCTYPE x [<!ENTITY a "aaaa">]><NameValue type="TextString" value="&a;"/>'],
    ['CDATA', '<RequestMessage><![CDATA[x]]></RequestMessage>'],
    ['unknown tag name', '<NoSuchTag type="Integer" value="1"/>'],
    ['TTLV without a valid tag', '<TTLV tag="0x123456" type="Integer" value="1"/>'],
    ['unknown type', '<BatchCount type="Float" value="1.5"/>'],
    ['missing value', '<BatchCount type="Integer"/>'],
    ['value on a structure', '<RequestMessage value="1"/>'],
    ['children in a scalar', '<BatchCount type="Integer" value="1"><BatchCount type="Integer" value="1"/></BatchCount>'],
    ['unexpected attribute', '<BatchCount type="Integer" value="1" extra="x"/>'],
    ['integer out of range', '<BatchCount type="Integer" value="2147483648"/>'],
    ['integer hex too long', '<BatchCount type="Integer" value="0x100000000"/>'],
    ['not a number', '<BatchCount type="Integer" value="one"/>'],
    ['odd hex bytes', '<KeyMaterial type="ByteString" value="abc"/>'],
    ['not hex bytes', '<KeyMaterial type="ByteString" value="zz"/>'],
    ['big integer not whole bytes', '<Modulus type="BigInteger" value="123"/>'],
    ['unknown enumeration name', '<ObjectType type="Enumeration" value="Banana"/>'],
    ['enumeration name of another field', '<ObjectType type="Enumeration" value="AES"/>'],
    ['unknown mask name', '<CryptographicUsageMask type="Integer" value="Encrypt Fly"/>'],
    ['boolean', '<Sensitive type="Boolean" value="yes"/>'],
    ['date without a zone', '<ActivationDate type="DateTime" value="2000-02-02T00:00:00"/>'],
    ['impossible date', '<ActivationDate type="DateTime" value="2000-02-30T00:00:00Z"/>'],
    ['interval negative', '<LeaseTime type="Interval" value="-1"/>'],
    ['long integer out of range', '<UsageLimitsTotal type="LongInteger" value="9223372036854775808"/>'],
  ])('%s is Invalid Message', (_, xml) => {
    expect(rejected(xml).message).toMatch(/^XML at offset \d+: /);
  });

  it('bounds depth, size and element count', () => {
    const deep = '<RequestMessage>'.repeat(100) + '</RequestMessage>'.repeat(100);
    expect(() => parseXml(deep)).toThrow(/nested deeper than 64/);
    expect(() => parseXml('<A/>'.padEnd(100, ' '), { maxChars: 50, maxDepth: 8, maxElements: 10, maxAttributes: 8 })).toThrow(/longer than 50/);
    expect(() => parseXml(`<R>${'<A/>'.repeat(20)}</R>`, { maxChars: 1000, maxDepth: 8, maxElements: 10, maxAttributes: 8 })).toThrow(/more than 10 elements/);
  });

  it('one message expected, two given', () => {
    expect(() => decodeXml('<BatchCount type="Integer" value="1"/><BatchCount type="Integer" value="1"/>')).toThrow(KmipError);
  });

  it(`mutated OASIS files decode or are Invalid Message, never anything else (${MUTATIONS} mutations)`, () => {
    const source = readFileSync(join(FIXTURES, '1.4/mandatory/SKLC-M-2-14.xml'), 'utf8');
    const random = prng(17);
    const alphabet = '<>/="&;#x!-? \nabcTV0129$';
    for (let i = 0; i < MUTATIONS; i++) {
      let text = source;
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * text.length);
        const kind = random();
        if (kind < 0.4) text = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at + 1);
        else if (kind < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 20));
        else if (kind < 0.85) text = text.slice(0, at);
        else text = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at);
      }
      decodesOrRejects(text);
    }
  });

  it('arbitrary text decodes or is Invalid Message', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.stringMatching(/^[<>/="a-zA-Z0-9 &;#!?-]{0,120}$/), (a, b) => {
        decodesOrRejects(a);
        decodesOrRejects(b);
      }),
      { numRuns: MUTATIONS },
    );
  });
});
