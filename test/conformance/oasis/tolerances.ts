/**
 * The one table of tolerances for replaying the OASIS test cases: where the server may legitimately
 * answer differently from the reference server that recorded them. Everything not listed here is
 * compared exactly (tag, type, value, and the order of children).
 */
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { Operation, ResultReason } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { namingFor } from '../../../server/kmip/xml/names.js';
import { formatEnumeration } from '../../../server/kmip/xml/values.js';
import { ckFunctionValue } from '../../../server/kmip/pkcs11/functions.js';

export interface ToleranceContext {
  readonly caseName: string;
  /** 0-based step (request/response pair) in the file. */
  readonly step: number;
  /** The tags from the message root down to this item. */
  readonly tags: readonly number[];
  /** The response item is about an object the server generated (Create, Create Key Pair, Re-key…), not one the test registered. */
  readonly generatedObject: boolean;
  /** The Operation of the batch item the value is in. */
  readonly operation: number | undefined;
  /** The batch item's request names a public or private key. */
  readonly asymmetricObject: boolean;
  /** The expected item's siblings (the expected structure it is in). */
  readonly siblings: readonly TtlvItem[];
}

export interface Tolerance {
  readonly name: string;
  /** Why the server's value cannot be compared byte for byte. */
  readonly why: string;
  readonly applies: (expected: TtlvItem, ctx: ToleranceContext) => boolean;
  /** Whether the actual item is acceptable; the expected one is what the file recorded. */
  readonly accepts: (expected: TtlvItem, actual: TtlvItem) => boolean;
}

/** Seconds a $NOW date may differ from the runner's clock when it sent the request. */
export const NOW_WINDOW_SECONDS = 60;

const sameTypeAndLength = (e: TtlvItem, a: TtlvItem): boolean =>
  e.type === a.type && (e.type !== ItemType.ByteString || (a.type === ItemType.ByteString && a.value.length === e.value.length));

/** A key component padded to 8 bytes may come out 8 bytes shorter (a leading zero byte more in the reference key). */
const bigIntegerOfSize = (e: TtlvItem, a: TtlvItem): boolean => {
  if (e.type !== ItemType.BigInteger || a.type !== ItemType.BigInteger) return false;
  const bytes = (v: bigint) => Math.ceil((v < 0n ? -v : v).toString(16).length / 16);
  return a.value > 0n && Math.abs(bytes(a.value) - bytes(e.value)) <= 1;
};

const GENERATED_MATERIAL = new Set<number>([
  Tag.KeyMaterial,
  Tag.DigestValue,
  Tag.Data,
  Tag.MACData,
  Tag.SignatureData,
  Tag.AuthenticatedEncryptionTag,
  Tag.Modulus,
  Tag.PrivateExponent,
  Tag.PublicExponent,
  Tag.P,
  Tag.Q,
  Tag.G,
  Tag.X,
  Tag.Y,
  Tag.PrimeExponentP,
  Tag.PrimeExponentQ,
  Tag.CRTCoefficient,
]);

const inResponsePayload = (ctx: ToleranceContext): boolean => ctx.tags.includes(Tag.ResponsePayload);

/** A CK_UTF8CHAR[32] field of CK_INFO: printable ASCII padded with spaces (no NULs), not blank. */
const paddedText = (field: Uint8Array): boolean => field.every((b) => b >= 0x20 && b <= 0x7e) && field.some((b) => b !== 0x20);

/**
 * A CK_INFO as the PKCS#11 encoding writes it (KMIP Profiles 2.1 §5.18.1): cryptokiVersion (2 bytes),
 * manufacturerID (32), flags (8, CK_ULONG), libraryDescription (32), libraryVersion (2). The server's
 * is accepted when the layout, cryptokiVersion and flags are the file's and its texts are well padded.
 */
const sameCkInfoLayout = (e: TtlvItem, a: TtlvItem): boolean => {
  if (e.type !== ItemType.ByteString || a.type !== ItemType.ByteString || e.value.length !== 76 || a.value.length !== 76) return false;
  const same = (from: number, to: number) => Buffer.from(a.value.subarray(from, to)).equals(e.value.subarray(from, to));
  return same(0, 2) && same(34, 42) && paddedText(a.value.subarray(2, 34)) && paddedText(a.value.subarray(42, 74));
};

export const TOLERANCES: readonly Tolerance[] = [
  {
    name: 'server information',
    why: 'Query returns Server Information, whose content the spec leaves to the vendor: only its presence is compared',
    applies: (e) => e.tag === Tag.ServerInformation,
    accepts: (e, a) => a.tag === e.tag && a.type === ItemType.Structure,
  },
  {
    name: 'vendor identification',
    why: 'Query returns the server\'s own Vendor Identification (the reference server wrote "server-vendor.com"): any text',
    applies: (e, ctx) => e.tag === Tag.VendorIdentification && ctx.operation === Operation.Query && inResponsePayload(ctx),
    accepts: (e, a) => a.tag === e.tag && a.type === ItemType.TextString && a.value.length > 0,
  },
  {
    name: 'result message and server correlation value',
    why: 'Result Message is free text chosen by the server (the Result Status and Result Reason beside it are compared exactly); the Server Correlation Value is the server\'s own',
    applies: (e) => e.tag === Tag.ResultMessage || e.tag === Tag.ServerCorrelationValue,
    accepts: (e, a) => a.tag === e.tag && a.type === ItemType.TextString,
  },
  {
    name: 'generated key material and what is computed from it',
    why:
      'key bytes, RSA/DSA components, digests, ciphertexts, MACs and signatures of an object the server generated differ from the ' +
      'reference server\'s: same type and length (the files check them later by using them: decrypt, verify, MAC verify)',
    applies: (e, ctx) => ctx.generatedObject && inResponsePayload(ctx) && GENERATED_MATERIAL.has(e.tag),
    accepts: (e, a) => (e.type === ItemType.BigInteger ? bigIntegerOfSize(e, a) : sameTypeAndLength(e, a)),
  },
  {
    name: 'server-chosen IV',
    why: 'an Encrypt without an IV gets one chosen at random by the server: same length',
    applies: (e, ctx) => e.tag === Tag.IVCounterNonce && inResponsePayload(ctx),
    accepts: sameTypeAndLength,
  },
  {
    name: 'random signatures',
    why: 'PSS and DSA/ECDSA signatures are randomised, so even a registered key signs differently each time: same length (a later Signature Verify step checks it)',
    applies: (e, ctx) => e.tag === Tag.SignatureData && inResponsePayload(ctx),
    accepts: sameTypeAndLength,
  },
  {
    name: 'random numbers',
    why: 'RNG Retrieve returns random bytes: same length',
    applies: (e, ctx) => e.tag === Tag.Data && inResponsePayload(ctx) && ctx.operation === Operation.RNGRetrieve,
    accepts: sameTypeAndLength,
  },
  {
    name: 'randomised encryption',
    why: 'RSA encryption (PKCS#1 v1.5 and OAEP padding) is randomised, and so is a ciphertext under an IV the server chose (the response returns that IV): same length, and the files decrypt it in a later step',
    applies: (e, ctx) =>
      e.tag === Tag.Data && inResponsePayload(ctx) && ctx.operation === Operation.Encrypt && (ctx.asymmetricObject || ctx.siblings.some((s) => s.tag === Tag.IVCounterNonce)),
    accepts: sameTypeAndLength,
  },
  {
    name: 'the server\'s random number generator',
    why: 'the Random Number Generator attribute describes the generator of the server that made the key (the reference server used ANSI X9.31, ours a DRBG): only its presence is compared',
    applies: (e, ctx) =>
      e.tag === Tag.RandomNumberGenerator ||
      (e.tag === Tag.AttributeValue && ctx.siblings.some((s) => s.tag === Tag.AttributeName && s.type === ItemType.TextString && s.value === 'Random Number Generator')),
    accepts: (e, a) => a.tag === e.tag && a.type === ItemType.Structure && a.value.some((c) => c.tag === Tag.RNGAlgorithm),
  },
  {
    name: 'PKCS#11 library information',
    why:
      'C_GetInfo answers with a CK_INFO naming the library\'s manufacturer, description and version (the reference server wrote "TEST      Pty Ltd", "TEST" and 1.0): ' +
      'same 76-byte layout, same cryptokiVersion and flags, and printable space-padded texts',
    applies: (e, ctx) =>
      e.tag === Tag.PKCS_11OutputParameters &&
      ctx.operation === Operation.PKCS_11 &&
      inResponsePayload(ctx) &&
      ctx.siblings.some((s) => s.tag === Tag.PKCS_11Function && s.type === ItemType.Enumeration && s.value === ckFunctionValue('C_GetInfo')),
    accepts: sameCkInfoLayout,
  },
  {
    name: 'OMOS-O-1-14 protocol version defect',
    why: 'the published OMOS-O-1-14 expects protocol version 1.3 in the response to its second request, in a 1.4 exchange (a known defect of the file)',
    applies: (e, ctx) => ctx.caseName === 'OMOS-O-1-14' && ctx.step === 1 && e.tag === Tag.ProtocolVersionMinor,
    accepts: (e, a) => a.type === ItemType.Integer && (a.value === 3 || a.value === 4),
  },
  {
    name: 'QS-M-2-21 result reason defect',
    why:
      'QS-M-2-21 creates a key with Protection Level, Protection Period and Quantum Safe, which this server does not support, and expects General Failure; ' +
      'KMIP 2.1 §11.46 defines Unsupported Attribute for exactly this and Create\'s error table (§6.1.8.1) lists it, not General Failure',
    applies: (e, ctx) => ctx.caseName === 'QS-M-2-21' && e.tag === Tag.ResultReason,
    accepts: (e, a) => a.type === ItemType.Enumeration && a.value === ResultReason.UnsupportedAttribute,
  },
];

/**
 * Attributes a server may return beyond the file's, one case each. TL-M-3-14 contradicts itself: its
 * Get Attribute List step names Sensitive, Always Sensitive, Extractable and Never Extractable, then its
 * Get Attributes with no names (which returns every attribute, KMIP 1.4 §4.12) leaves them out; KMIP 1.4
 * §3.48–3.51 say they always have a value, and SKLC-O-1-14 and TL-M-3-21 expect them in the same answer.
 */
export const MAY_ADD: ReadonlyArray<{ readonly caseName: string; readonly attributes: ReadonlySet<string> }> = [
  { caseName: 'TL-M-3-14', attributes: new Set(['Sensitive', 'Always Sensitive', 'Extractable', 'Never Extractable']) },
];

/** Whether `item`, an Attribute the file does not have, is one the case may be answered with besides. */
export function mayAdd(caseName: string, operation: number | undefined, item: TtlvItem): boolean {
  if (operation !== Operation.GetAttributes || item.tag !== Tag.Attribute || item.type !== ItemType.Structure) return false;
  const name = item.value.find((c) => c.tag === Tag.AttributeName);
  return name?.type === ItemType.TextString && MAY_ADD.some((m) => m.caseName === caseName && m.attributes.has(name.value));
}

/**
 * Cases that send the very request another case sends and expect another server policy: the files are
 * alternatives, and no server can pass more than one of them. CS-RNG-O-1/2/3/4 send the same RNG Seed
 * and expect 32 bytes used, 16, none (O-3) and Permission Denied. KMIP lets a server ignore the seed and
 * answer 0 (1.4 §4.35, 2.1 §6.1.50); Node's generator cannot be seeded, so this server's policy is
 * O-3's. The runner checks that the requests are the same (but for the Client Correlation Value) and
 * compares these cases' answers with O-3's expected ones.
 */
export const ALTERNATIVE_POLICY: Readonly<Record<string, string>> = {
  'CS-RNG-O-1-14': 'CS-RNG-O-3-14',
  'CS-RNG-O-2-14': 'CS-RNG-O-3-14',
  'CS-RNG-O-4-14': 'CS-RNG-O-3-14',
  'CS-RNG-O-1-21': 'CS-RNG-O-3-21',
  'CS-RNG-O-2-21': 'CS-RNG-O-3-21',
  'CS-RNG-O-4-21': 'CS-RNG-O-3-21',
};

/** Dates written $NOW±s: the runner resolves them at the time it sends the request, the server reads its own clock. */
export const NOW_TOLERANCE = {
  name: '$NOW dates',
  why: `a date the file writes as $NOW or $NOW±seconds may differ by up to ${NOW_WINDOW_SECONDS} s from the runner's clock at the request`,
  accepts: (e: TtlvItem, a: TtlvItem): boolean => {
    if (e.type !== a.type || (e.type !== ItemType.DateTime && e.type !== ItemType.DateTimeExtended)) return false;
    const scale = e.type === ItemType.DateTimeExtended ? 1_000_000n : 1n;
    const d = (a.value as bigint) - (e.value as bigint);
    return (d < 0n ? -d : d) <= BigInt(NOW_WINDOW_SECONDS) * scale;
  },
};

/**
 * Placeholders ($UNIQUE_IDENTIFIER_n, $KEY_MATERIAL_n, $IV_COUNTER_NONCE, …) stand for values the
 * server chooses: the first response that holds one defines it (same type), later ones must repeat it,
 * and requests send it back.
 */
export const PLACEHOLDER_TOLERANCE = {
  name: 'placeholders',
  why: 'server-chosen identifiers and values: captured where first returned, equal wherever they recur',
};

/**
 * Items either side may leave out: free text and correlation values the spec makes optional in a
 * response (a server need not echo the client's correlation value, nor set its own).
 */
export const OPTIONAL_ITEMS = new Set<number>([Tag.ResultMessage, Tag.ClientCorrelationValue, Tag.ServerCorrelationValue]);

/**
 * Children compared without regard to order: the spec does not order the attributes a server returns
 * (Get Attributes, Get Attribute List, 2.x Attributes).
 */
export const UNORDERED_SIBLINGS = new Set<number>([Tag.Attribute, Tag.AttributeName, Tag.AttributeReference]);
export const UNORDERED_PARENTS = new Set<number>([Tag.Attributes]);

/**
 * A Query answers with what this server supports, in its own order: the operations and object types
 * the file lists must all be there, and the server may list more than the reference server did.
 */
export const QUERY_SUPERSET = new Set<number>([Tag.Operation, Tag.ObjectType]);

/**
 * Notify and Put are server-to-client operations (KMIP 1.4 §5, 2.1 §6.2): the reference server listed
 * them, which says it sends them. This server sends neither, so its Query does not claim them.
 */
export const QUERY_SERVER_TO_CLIENT = new Set<number>([Operation.Notify, Operation.Put]);

/** Locate does not order the identifiers it returns: the file's order is the reference server's. */
export const LOCATE_UNORDERED = new Set<number>([Tag.UniqueIdentifier]);

/** Every tolerance by name and reason, for the README and failure messages. */
export const TOLERANCE_SUMMARY: ReadonlyArray<{ readonly name: string; readonly why: string }> = [
  PLACEHOLDER_TOLERANCE,
  NOW_TOLERANCE,
  ...TOLERANCES,
  { name: 'optional response items', why: 'Result Message, Client Correlation Value and Server Correlation Value may be present on one side only' },
  { name: 'attribute order', why: 'attributes (1.x Attribute, Attribute Name, 2.x Attribute Reference and the items of Attributes) are compared as a set' },
  { name: 'query answers', why: 'the Operations and Object Types of a Query answer are a set, and the server may list more than the file' },
  { name: 'server-to-client operations', why: 'a Query answer may leave out Notify and Put, which a server sends rather than serves: this server sends neither' },
  { name: 'TL-M-3-14 attribute defect', why: 'Get Attributes in TL-M-3-14 may also return Sensitive, Always Sensitive, Extractable and Never Extractable, which its own Get Attribute List step names' },
  { name: 'alternative policies', why: 'CS-RNG-O-1, -2 and -4 send the same RNG Seed request as CS-RNG-O-3 and expect other server policies: their answers are compared with O-3\'s' },
  { name: 'locate order', why: 'the identifiers a Locate returns are compared as a set' },
];

/** A value for a failure message: never the bytes of a byte string or big integer (they may be key material). */
export function describeValue(item: TtlvItem): string {
  switch (item.type) {
    case ItemType.Structure:
      return `Structure(${item.value.length})`;
    case ItemType.ByteString:
      return `ByteString of ${item.value.length} bytes`;
    case ItemType.BigInteger:
      return `BigInteger of ${(item.value < 0n ? -item.value : item.value).toString(2).length} bits`;
    case ItemType.TextString:
      return JSON.stringify(item.value.slice(0, 60));
    case ItemType.Enumeration:
      return formatEnumeration(item.value, namingFor(item.tag, 'Enumeration', undefined));
    default:
      return String(item.value);
  }
}
