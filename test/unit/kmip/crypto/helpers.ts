/** Registering keys and calling the cryptographic operations through the real batch executor. */
import type { KeyObject } from 'node:crypto';
import type { TtlvItem } from '../../../../server/ttlv/index.js';
import { KeyFormatType, ObjectType, Operation, ResultStatus } from '../../../../server/kmip/generated/enums.js';
import { Tag } from '../../../../server/kmip/generated/tags.js';
import type { Principal } from '../../../../server/kmip/context.js';
import type { ExecutorHarness } from '../../../support/executor.js';
import type { DecodedItem } from '../../../support/kmip-client.js';
import { attr, b, dt, e, i, s } from '../../../support/ttlv-builder.js';

export interface KeyOptions {
  /** Cryptographic Usage Mask bits. */
  readonly mask: number;
  /** Active from an hour ago unless false (then Pre-Active). */
  readonly active?: boolean;
  /** A Cryptographic Parameters attribute, as its TTLV children. */
  readonly params?: TtlvItem[];
  readonly extra?: TtlvItem[];
  readonly principal?: Principal;
}

function templateAttributes(o: KeyOptions): TtlvItem {
  const now = Math.floor(Date.now() / 1000);
  return s(Tag.TemplateAttribute, [
    attr('Cryptographic Usage Mask', i(Tag.AttributeValue, o.mask)),
    ...(o.active === false ? [] : [attr('Activation Date', dt(Tag.AttributeValue, now - 3600))]),
    ...(o.params ? [attr('Cryptographic Parameters', s(Tag.AttributeValue, o.params))] : []),
    ...(o.extra ?? []),
  ]);
}

async function registerObject(h: ExecutorHarness, objectType: number, object: TtlvItem, o: KeyOptions): Promise<string> {
  const r = await h.run(
    [{ operation: Operation.Register, payload: s(Tag.RequestPayload, [e(Tag.ObjectType, objectType), templateAttributes(o), object]) }],
    { version: 14 },
    o.principal,
  );
  const item = r.items[0]!;
  if (item.resultStatus !== ResultStatus.Success) throw new Error(`Register failed: ${item.resultReason} ${item.resultMessage}`);
  return item.payload!['uniqueIdentifier'] as string;
}

const block = (format: number, material: Uint8Array, alg: number, bits: number): TtlvItem =>
  s(Tag.KeyBlock, [e(Tag.KeyFormatType, format), s(Tag.KeyValue, [b(Tag.KeyMaterial, material)]), e(Tag.CryptographicAlgorithm, alg), i(Tag.CryptographicLength, bits)]);

export function registerSymmetric(h: ExecutorHarness, algorithm: number, key: Uint8Array | string, o: KeyOptions): Promise<string> {
  const bytes = typeof key === 'string' ? new Uint8Array(Buffer.from(key, 'hex')) : key;
  return registerObject(h, ObjectType.SymmetricKey, s(Tag.SymmetricKey, [block(KeyFormatType.Raw, bytes, algorithm, bytes.length * 8)]), o);
}

export function registerPrivate(h: ExecutorHarness, algorithm: number, key: KeyObject, bits: number, o: KeyOptions): Promise<string> {
  const der = new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
  return registerObject(h, ObjectType.PrivateKey, s(Tag.PrivateKey, [block(KeyFormatType.PKCS_8, der, algorithm, bits)]), o);
}

export function registerPublic(h: ExecutorHarness, algorithm: number, key: KeyObject, bits: number, o: KeyOptions): Promise<string> {
  const der = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  return registerObject(h, ObjectType.PublicKey, s(Tag.PublicKey, [block(KeyFormatType.X_509, der, algorithm, bits)]), o);
}

/** One operation with a typed payload; returns the batch item whatever its result. */
export async function call(h: ExecutorHarness, operation: number, payload: Record<string, unknown>, version = 14, principal?: Principal): Promise<DecodedItem> {
  const r = await h.run([{ operation, payload }], { version }, principal);
  return r.items[0]!;
}

/** One operation that must succeed; returns its payload. */
export async function ok(h: ExecutorHarness, operation: number, payload: Record<string, unknown>, version = 14): Promise<Record<string, unknown>> {
  const item = await call(h, operation, payload, version);
  if (item.resultStatus !== ResultStatus.Success) throw new Error(`operation ${operation} failed: ${item.resultReason} ${item.resultMessage}`);
  return item.payload!;
}

export const hex = (v: unknown): string => Buffer.from(v as Uint8Array).toString('hex');
export const bytesOf = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
