/**
 * The PKCS#11 operation (KMIP 2.1 §6.1.37) through the real batch executor: a PKCS#11 module with no
 * slots, one library instance per C_Initialize, named by the Correlation Value and kept per tenant.
 * PKCS#11 values are written out here from the PKCS#11 v3.0 headers, not taken from the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import type { Principal } from '../../../server/kmip/context.js';
import { Operation, ResultReason, ResultStatus } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { libraryIdentity } from '../../../server/kmip/operations/pkcs11.js';
import { PKCS11_LIMITS } from '../../../server/kmip/pkcs11/library.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { b, e, i, s, t } from '../../support/ttlv-builder.js';

/** 1-based places in CK_FUNCTION_LIST_3_0 (KMIP 2.1 §11.38). */
const F = { C_Initialize: 1, C_Finalize: 2, C_GetInfo: 3, C_GetFunctionList: 4, C_GetSlotList: 5, C_OpenSession: 13, C_GenerateRandom: 65, C_MessageVerifyFinal: 92 };
/** CK_RV values (pkcs11t.h). */
const CKR_OK = 0x0;
const CKR_HOST_MEMORY = 0x2;
const CKR_FUNCTION_NOT_SUPPORTED = 0x54;
const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;
const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

interface CallOptions {
  readonly correlation?: Uint8Array | undefined;
  readonly input?: string | Uint8Array;
  readonly iface?: string;
  /** The PKCS#11 Function item as sent, when it is not an Enumeration of `fn`. */
  readonly fnItem?: TtlvItem;
  readonly version?: number;
}

function payload(fn: number, o: CallOptions): TtlvItem {
  return s(Tag.RequestPayload, [
    ...(o.iface !== undefined ? [t(Tag.PKCS_11Interface, o.iface)] : []),
    o.fnItem ?? e(Tag.PKCS_11Function, fn),
    ...(o.correlation !== undefined ? [b(Tag.CorrelationValue, o.correlation)] : []),
    ...(o.input !== undefined ? [b(Tag.PKCS_11InputParameters, o.input)] : []),
  ]);
}

async function call(fn: number, o: CallOptions = {}, who?: Principal) {
  const r = await h.run([{ operation: Operation.PKCS_11, payload: payload(fn, o) }], { version: o.version ?? 21 }, who);
  return r.items[0]!;
}

/** The CK_RV of a call the KMIP layer accepted (Result Status Success whatever PKCS#11 says). */
async function rv(fn: number, o: CallOptions = {}, who?: Principal): Promise<number> {
  const item = await call(fn, o, who);
  expect(item.resultStatus, `KMIP status (${String(item.resultMessage)})`).toBe(ResultStatus.Success);
  return item.payload!['pkcs11ReturnCode'] as number;
}

async function initialize(who?: Principal): Promise<Uint8Array> {
  const item = await call(F.C_Initialize, { input: '01' }, who);
  expect(item.resultStatus).toBe(ResultStatus.Success);
  expect(item.payload!['pkcs11ReturnCode']).toBe(CKR_OK);
  return item.payload!['correlationValue'] as Uint8Array;
}

const ascii = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

describe('PKCS#11 operation: C_Initialize, C_GetInfo, C_Finalize', () => {
  it('initializes, describes the library in a 76-byte CK_INFO, and finalizes', async () => {
    const init = await call(F.C_Initialize, { input: '01' });
    expect(init.resultStatus).toBe(ResultStatus.Success);
    expect(init.payload!['pkcs11Function']).toEqual({ vendor: false, value: F.C_Initialize });
    expect(init.payload!['pkcs11ReturnCode']).toBe(CKR_OK);
    expect(init.payload!['pkcs11OutputParameters']).toBeUndefined();
    const correlation = init.payload!['correlationValue'] as Uint8Array;
    expect(correlation).toHaveLength(16);
    expect(await initialize()).not.toEqual(correlation);

    const info = await call(F.C_GetInfo, { correlation });
    expect(info.resultStatus).toBe(ResultStatus.Success);
    expect(info.payload!['pkcs11Function']).toEqual({ vendor: false, value: F.C_GetInfo });
    expect(info.payload!['pkcs11ReturnCode']).toBe(CKR_OK);
    expect(info.payload!['correlationValue']).toBeUndefined();
    const ck = info.payload!['pkcs11OutputParameters'] as Uint8Array;
    expect(ck).toHaveLength(76);
    expect([ck[0], ck[1]]).toEqual([2, 40]); // cryptokiVersion 2.40
    expect(ascii(ck.subarray(2, 34))).toBe('kmip-for-vmware'.padEnd(32, ' ')); // manufacturerID, the harness's vendor
    expect([...ck.subarray(34, 42)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]); // flags: 8 bytes, none set
    expect(ascii(ck.subarray(42, 74))).toBe('PKCS#11 over KMIP, no slots'.padEnd(32, ' ')); // libraryDescription
    expect([ck[74], ck[75]]).toEqual([0, 0]); // libraryVersion: the harness's server version "test" has none
    expect(h.audit.at(-1)!.note).toBe('C_GetInfo CKR_OK');

    const fin = await call(F.C_Finalize, { correlation });
    expect(fin.payload).toEqual({ pkcs11Function: { vendor: false, value: F.C_Finalize }, pkcs11ReturnCode: CKR_OK });
    expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_Finalize, { correlation })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
  });

  it('takes the library version from the server version, major.minor', () => {
    const v = (serverVersion: string) => libraryIdentity({ vendorIdentification: 'v', serverVersion }).version;
    expect(v('0.1.0')).toEqual({ major: 0, minor: 1 });
    expect(v('12.34.5-rc1')).toEqual({ major: 12, minor: 34 });
    expect(v('test')).toEqual({ major: 0, minor: 0 });
    expect(v('300.2')).toEqual({ major: 255, minor: 2 });
  });

  it('answers CKR_CRYPTOKI_NOT_INITIALIZED without a Correlation Value, or with one it never gave', async () => {
    expect(await rv(F.C_GetInfo)).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_GetInfo, { correlation: new Uint8Array(16) })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_GetSlotList, { input: '00' })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_Finalize, { correlation: new Uint8Array(3) })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
  });

  it('answers a second C_Initialize on a live value with CKR_CRYPTOKI_ALREADY_INITIALIZED', async () => {
    const correlation = await initialize();
    const again = await call(F.C_Initialize, { input: '01', correlation });
    expect(again.payload!['pkcs11ReturnCode']).toBe(CKR_CRYPTOKI_ALREADY_INITIALIZED);
    expect(again.payload!['correlationValue']).toEqual(correlation);
    expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_OK);
    await rv(F.C_Finalize, { correlation });
    // Once finalized, the value names nothing: a C_Initialize presenting it starts a new instance.
    const fresh = await call(F.C_Initialize, { input: '01', correlation });
    expect(fresh.payload!['pkcs11ReturnCode']).toBe(CKR_OK);
    expect(fresh.payload!['correlationValue']).not.toEqual(correlation);
  });

  it('forgets an instance left idle too long', async () => {
    const correlation = await initialize();
    try {
      h.setNow(Date.now() + PKCS11_LIMITS.idleMs - 60_000);
      expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_OK); // use keeps it alive
      h.setNow(Date.now() + 2 * PKCS11_LIMITS.idleMs - 120_000);
      expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_OK);
      h.setNow(Date.now() + 3 * PKCS11_LIMITS.idleMs);
      expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    } finally {
      h.setNow(undefined);
    }
  });
});

describe('PKCS#11 operation: tenants and bounds', () => {
  it('does not know another tenant\'s Correlation Value, and cannot finalize it', async () => {
    const correlation = await initialize();
    const other = await h.otherTenant();
    expect(await rv(F.C_GetInfo, { correlation }, other)).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_Finalize, { correlation }, other)).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_OK);
  });

  it(`keeps at most ${PKCS11_LIMITS.perTenant} instances per tenant: the next C_Initialize gets CKR_HOST_MEMORY`, async () => {
    const tenant = await h.otherTenant();
    const values: Uint8Array[] = [];
    for (let n = 0; n < PKCS11_LIMITS.perTenant; n++) values.push(await initialize(tenant));
    const refused = await call(F.C_Initialize, { input: '01' }, tenant);
    expect(refused.resultStatus).toBe(ResultStatus.Success);
    expect(refused.payload!['pkcs11ReturnCode']).toBe(CKR_HOST_MEMORY);
    expect(refused.payload!['correlationValue']).toBeUndefined();
    // Another tenant is not held back by this one's instances.
    await initialize(await h.otherTenant());
    expect(await rv(F.C_Finalize, { correlation: values[0] }, tenant)).toBe(CKR_OK);
    await initialize(tenant);
  });

  it('bounds the input parameters at 4 KiB (PKCS#11 Codec Error past it)', async () => {
    expect(PKCS11_LIMITS.maxInputBytes).toBe(4096);
    expect(await rv(F.C_OpenSession, { input: new Uint8Array(4096) })).toBe(CKR_FUNCTION_NOT_SUPPORTED);
    const over = await call(F.C_OpenSession, { input: new Uint8Array(4097) });
    expect([over.resultStatus, over.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.PKCS_11CodecError]);
  });

  it('refuses malformed encodings with PKCS#11 Codec Error', async () => {
    const correlation = await initialize();
    const malformed: Array<[number, CallOptions]> = [
      [F.C_Initialize, {}], // the encoding version is required
      [F.C_Initialize, { input: '' }],
      [F.C_Initialize, { input: '02' }], // an encoding version the profile does not define
      [F.C_Initialize, { input: '0101' }],
      [F.C_GetInfo, { correlation, input: '00' }], // C_GetInfo takes no input
      [F.C_Finalize, { correlation, input: '00' }],
      [F.C_GetSlotList, { correlation }], // tokenPresent is required
      [F.C_GetSlotList, { correlation, input: '02' }], // not a CK_BBOOL
      [F.C_GetSlotList, { correlation, input: '01000000' }], // a buffer size cut short
      [F.C_GetSlotList, { correlation, input: '010000000400' }],
    ];
    for (const [fn, o] of malformed) {
      const item = await call(fn, o);
      expect([item.resultStatus, item.resultReason], `function ${fn} with ${JSON.stringify(o.input)}`).toEqual([ResultStatus.OperationFailed, ResultReason.PKCS_11CodecError]);
    }
    // None of them finalized the instance.
    expect(await rv(F.C_GetInfo, { correlation })).toBe(CKR_OK);
  });
});

describe('PKCS#11 operation: functions and interfaces', () => {
  it('lists no slots, with or without a buffer, with or without a token', async () => {
    const correlation = await initialize();
    for (const input of ['00', '01', '0000000010', '0100000000']) {
      const item = await call(F.C_GetSlotList, { correlation, input });
      expect(item.payload!['pkcs11ReturnCode'], input).toBe(CKR_OK);
      expect(Buffer.from(item.payload!['pkcs11OutputParameters'] as Uint8Array).toString('hex'), input).toBe('00000000');
    }
  });

  it('answers every other PKCS#11 function with CKR_FUNCTION_NOT_SUPPORTED', async () => {
    const correlation = await initialize();
    for (const fn of [F.C_GetFunctionList, F.C_OpenSession, F.C_GenerateRandom, F.C_MessageVerifyFinal]) {
      const item = await call(fn, { correlation, input: '0102' });
      expect(item.resultStatus).toBe(ResultStatus.Success);
      expect(item.payload).toEqual({ pkcs11Function: { vendor: false, value: fn }, pkcs11ReturnCode: CKR_FUNCTION_NOT_SUPPORTED });
    }
    expect(await rv(F.C_OpenSession)).toBe(CKR_FUNCTION_NOT_SUPPORTED);
  });

  it('refuses values that name no PKCS#11 function, and vendor functions, with PKCS#11 Invalid Function', async () => {
    for (const fnItem of [e(Tag.PKCS_11Function, 0), e(Tag.PKCS_11Function, 93), e(Tag.PKCS_11Function, 0x80000001), i(Tag.PKCS_11Function, 1)]) {
      const item = await call(0, { fnItem, input: '01' });
      expect([item.resultStatus, item.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.PKCS_11InvalidFunction]);
    }
    const text = await call(0, { fnItem: t(Tag.PKCS_11Function, 'C_Initialize') });
    expect(text.resultReason).toBe(ResultReason.InvalidField);
  });

  it('serves the default "PKCS 11" interface, named or not, and refuses any other with PKCS#11 Invalid Interface', async () => {
    const named = await call(F.C_Initialize, { input: '01', iface: 'PKCS 11' });
    expect(named.payload!['pkcs11ReturnCode']).toBe(CKR_OK);
    expect(named.payload!['pkcs11Interface']).toBe('PKCS 11');
    const other = await call(F.C_Initialize, { input: '01', iface: 'Vendor PKCS 11' });
    expect([other.resultStatus, other.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.PKCS_11InvalidInterface]);
  });

  it('is a KMIP 2.x operation: a 1.4 client gets Operation Not Supported', async () => {
    const item = await call(F.C_Initialize, { input: '01', version: 14 });
    expect([item.resultStatus, item.resultReason]).toEqual([ResultStatus.OperationFailed, ResultReason.OperationNotSupported]);
    expect((await call(F.C_Initialize, { input: '01', version: 20 })).payload!['pkcs11ReturnCode']).toBe(CKR_OK);
  });
});
