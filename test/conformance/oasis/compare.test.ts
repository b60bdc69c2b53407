/** The comparator and its tolerances on small hand-written responses: what it accepts and the path it reports. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { decodeXml } from '../../../server/kmip/xml/index.js';
import { compareMessages, type CompareEnv } from './compare.js';
import { loadCase, withPolicyOf } from './load.js';
import { NOW_WINDOW_SECONDS, TOLERANCE_SUMMARY } from './tolerances.js';

const NOW = 1_700_000_000n;

/** Decodes an expected response the way the runner does: $NOW at NOW, other placeholders as markers. */
function expectedOf(xml: string, env: CompareEnv): TtlvItem {
  return decodeXml(xml, {
    placeholder: (text, type, tag) => {
      if (text === '$NOW') {
        const item = { tag, type: ItemType.DateTime, value: NOW } as const;
        env.nowDates.add(item);
        return item;
      }
      const item = (type === ItemType.TextString ? { tag, type, value: '' } : { tag, type: ItemType.ByteString, value: new Uint8Array(0) }) as TtlvItem;
      env.placeholders.set(item, text);
      return item;
    },
  });
}

function env(generated = false): CompareEnv {
  return { caseName: 'T-1', step: 0, placeholders: new WeakMap(), nowDates: new WeakSet(), captures: new Map(), generated: [generated], asymmetric: [false] };
}

const response = (payload: string, time = '$NOW', status = 'Success', op = 'GetAttributes') => `
<ResponseMessage>
  <ResponseHeader>
    <ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/><ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion>
    <TimeStamp type="DateTime" value="${time}"/>
    <BatchCount type="Integer" value="1"/>
  </ResponseHeader>
  <BatchItem>
    <Operation type="Enumeration" value="${op}"/>
    <ResultStatus type="Enumeration" value="${status}"/>
    <ResponsePayload>${payload}</ResponsePayload>
  </BatchItem>
</ResponseMessage>`;

const at = (seconds: bigint) => new Date(Number(seconds) * 1000).toISOString().replace('.000Z', '+00:00');
const attr = (name: string, value: string) => `<Attribute><AttributeName type="TextString" value="${name}"/>${value}</Attribute>`;

describe('OASIS response comparison', () => {
  it('accepts the same message and reports the first difference as a path', () => {
    const e = env();
    const expected = expectedOf(response('<UniqueIdentifier type="TextString" value="a"/><State type="Enumeration" value="Active"/>'), e);
    expect(compareMessages(expected, decodeXml(response('<UniqueIdentifier type="TextString" value="a"/><State type="Enumeration" value="Active"/>', at(NOW))), e)).toBeUndefined();
    expect(compareMessages(expected, decodeXml(response('<UniqueIdentifier type="TextString" value="a"/><State type="Enumeration" value="PreActive"/>', at(NOW))), e)).toEqual({
      path: 'BatchItem[0]/ResponsePayload/State',
      message: 'expected Active, got PreActive',
    });
    expect(compareMessages(expected, decodeXml(response('<UniqueIdentifier type="TextString" value="a"/>', at(NOW))), e)).toEqual({
      path: 'BatchItem[0]/ResponsePayload/State',
      message: 'missing from the response (expected Active)',
    });
  });

  it(`accepts a $NOW date within ${NOW_WINDOW_SECONDS} s and no further`, () => {
    const e = env();
    const expected = expectedOf(response(''), e);
    expect(compareMessages(expected, decodeXml(response('', at(NOW + BigInt(NOW_WINDOW_SECONDS)))), e)).toBeUndefined();
    expect(compareMessages(expected, decodeXml(response('', at(NOW - BigInt(NOW_WINDOW_SECONDS) - 1n))), e)?.path).toBe('ResponseHeader/TimeStamp');
  });

  it('captures a placeholder where first returned and holds the server to it', () => {
    const e = env();
    const twice = response('<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/><LinkedObjectIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/>');
    const expected = expectedOf(twice, e);
    const same = '<UniqueIdentifier type="TextString" value="id-1"/><LinkedObjectIdentifier type="TextString" value="id-1"/>';
    expect(compareMessages(expected, decodeXml(response(same, at(NOW))), e)).toBeUndefined();
    expect(e.captures.get('$UNIQUE_IDENTIFIER_0')).toMatchObject({ value: 'id-1' });
    const e2 = env();
    const differ = '<UniqueIdentifier type="TextString" value="id-1"/><LinkedObjectIdentifier type="TextString" value="id-2"/>';
    expect(compareMessages(expectedOf(twice, e2), decodeXml(response(differ, at(NOW))), e2)?.message).toBe('$UNIQUE_IDENTIFIER_0 was "id-1" earlier in this file, now "id-2"');
  });

  it('compares attributes as a set and names a missing one', () => {
    const e = env();
    const two = attr('State', '<AttributeValue type="Enumeration" value="Active"/>') + attr('Cryptographic Length', '<AttributeValue type="Integer" value="256"/>');
    const expected = expectedOf(response(two), e);
    const swapped = attr('Cryptographic Length', '<AttributeValue type="Integer" value="256"/>') + attr('State', '<AttributeValue type="Enumeration" value="Active"/>');
    expect(compareMessages(expected, decodeXml(response(swapped, at(NOW))), e)).toBeUndefined();
    const wrong = attr('Cryptographic Length', '<AttributeValue type="Integer" value="128"/>') + attr('State', '<AttributeValue type="Enumeration" value="Active"/>');
    expect(compareMessages(expected, decodeXml(response(wrong, at(NOW))), e)).toEqual({ path: 'BatchItem[0]/ResponsePayload/Attribute[1]/AttributeValue', message: 'expected 256, got 128' });
    const one = attr('State', '<AttributeValue type="Enumeration" value="Active"/>');
    expect(compareMessages(expected, decodeXml(response(one, at(NOW))), e)?.message).toBe('missing from the response (expected Structure(2) "Cryptographic Length")');
  });

  it('accepts other key bytes of the same length only for an object the server generated', () => {
    const get = (hex: string) => response(`<SymmetricKey><KeyBlock><KeyValue><KeyMaterial type="ByteString" value="${hex}"/></KeyValue></KeyBlock></SymmetricKey>`, '$NOW', 'Success', 'Get');
    const generated = env(true);
    expect(compareMessages(expectedOf(get('00112233'), generated), decodeXml(get('ffeeddcc').replace('$NOW', at(NOW))), generated)).toBeUndefined();
    expect(compareMessages(expectedOf(get('00112233'), generated), decodeXml(get('ffeedd').replace('$NOW', at(NOW))), generated)?.path).toBe(
      'BatchItem[0]/ResponsePayload/SymmetricKey/KeyBlock/KeyValue/KeyMaterial',
    );
    const registered = env(false);
    expect(compareMessages(expectedOf(get('00112233'), registered), decodeXml(get('ffeeddcc').replace('$NOW', at(NOW))), registered)?.message).toBe(
      "the 4 bytes differ from the file's",
    );
  });

  it('lets the server add or leave out a Result Message, but compares the Result Reason', () => {
    const failed = (extra: string) => response('', '$NOW', 'OperationFailed').replace('<ResponsePayload></ResponsePayload>', `<ResultReason type="Enumeration" value="ItemNotFound"/>${extra}`);
    const e = env();
    const expected = expectedOf(failed('<ResultMessage type="TextString" value="DENIED"/>'), e);
    expect(compareMessages(expected, decodeXml(failed('').replace('$NOW', at(NOW))), e)).toBeUndefined();
    expect(compareMessages(expected, decodeXml(failed('<ResultMessage type="TextString" value="not found"/>').replace('$NOW', at(NOW))), e)).toBeUndefined();
    const other = failed('').replace('ItemNotFound', 'PermissionDenied').replace('$NOW', at(NOW));
    expect(compareMessages(expected, decodeXml(other), e)).toEqual({ path: 'BatchItem[0]/ResultReason', message: 'expected ItemNotFound, got PermissionDenied' });
  });
});

describe('Query answers', () => {
  const ops = (...names: string[]) => names.map((n) => `<Operation type="Enumeration" value="${n}"/>`).join('');
  it('accepts more operations in any order, and the absence of Notify and Put only', () => {
    const e = env();
    const expected = expectedOf(response(ops('Create', 'Notify', 'Get', 'Put'), '$NOW', 'Success', 'Query'), e);
    expect(compareMessages(expected, decodeXml(response(ops('Get', 'Create', 'Encrypt'), at(NOW), 'Success', 'Query')), e)).toBeUndefined();
    expect(compareMessages(expected, decodeXml(response(ops('Get', 'Notify', 'Put'), at(NOW), 'Success', 'Query')), e)).toEqual({
      path: 'BatchItem[0]/ResponsePayload/Operation[0]',
      message: 'missing from the response (expected Create)',
    });
  });

  it('holds other operations to the file outside a Query answer', () => {
    const e = env();
    const expected = expectedOf(response(ops('Notify'), '$NOW', 'Success', 'GetAttributes'), e);
    expect(compareMessages(expected, decodeXml(response('', at(NOW))), e)).toMatchObject({ message: 'missing from the response (expected Notify)' });
  });
});

describe('file defects', () => {
  const sensitive = attr('Sensitive', '<AttributeValue type="Boolean" value="true"/>');
  const length = attr('Cryptographic Length', '<AttributeValue type="Integer" value="128"/>');
  it('lets TL-M-3-14 alone answer Get Attributes with the four attributes its Get Attribute List names', () => {
    for (const [caseName, accepted] of [['TL-M-3-14', true], ['TL-M-3-21', false]] as const) {
      const e = { ...env(), caseName };
      const expected = expectedOf(response(length), e);
      const d = compareMessages(expected, decodeXml(response(length + sensitive, at(NOW))), e);
      if (accepted) expect(d).toBeUndefined();
      else expect(d?.message).toContain('not expected: Attribute Structure(2) "Sensitive"');
    }
  });

  it('answers CS-RNG-O-1 with O-3\'s expected responses, and refuses a file whose requests differ', () => {
    const o1 = loadCase('1.4/optional', 'CS-RNG-O-1-14.xml');
    const o3 = loadCase('1.4/optional', 'CS-RNG-O-3-14.xml');
    expect(o1.steps.map((s) => s.response)).toEqual(o3.steps.map((s) => s.response));
    expect(o1.name).toBe('CS-RNG-O-1-14');
    const other = loadCase('1.4/mandatory', 'SKLC-M-1-14.xml');
    expect(() => withPolicyOf(other, o3)).toThrow(/not an alternative policy/);
  });
});

describe('OASIS tolerance table', () => {
  it('README.md lists every tolerance by name', () => {
    const readme = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');
    for (const { name } of TOLERANCE_SUMMARY) expect(readme, name).toContain(`| ${name} |`);
  });
});
