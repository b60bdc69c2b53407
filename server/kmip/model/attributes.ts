/**
 * The attribute registry: every attribute we understand, its 1.x name, its 2.x tag, its value codec,
 * and who may set, modify and delete it. Attributes travel in two forms (1.x Attribute structures
 * named by text, 2.x typed items inside an Attributes structure) and live in one internal form.
 */
import { ItemType, type TtlvItem } from '../../ttlv/index.js';
import { invalidField, KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';
import { Tag } from '../generated/tags.js';
import { boolean, bytes, dateTime, enumeration, integer, interval, many, opt, raw, req, struct, text, type CodecContext, type ValueCodec } from '../schema.js';
import { inRange, type KmipVersion } from '../version.js';
import {
  AlternativeNameSchema,
  ApplicationSpecificInformationSchema,
  CryptographicDomainParametersSchema,
  CryptographicParametersSchema,
  DigestSchema,
  KeyValueLocationSchema,
  LinkSchema,
  NameSchema,
  ProtectionStorageMaskCodec,
  RevocationReasonSchema,
  RNGParametersSchema,
  UsageLimitsSchema,
  UsageMaskCodec,
  X509CertificateIdentifierSchema,
  X509CertificateIssuerSchema,
  X509CertificateSubjectSchema,
} from './attribute-values.js';

export interface AttributeDef {
  /** The 1.x Attribute Name. */
  readonly name: string;
  /** The tag of the 2.x typed form. */
  readonly tag: number;
  readonly codec: ValueCodec<unknown>;
  readonly multi: boolean;
  /** A client may supply it in a template, Register or Add Attribute. */
  readonly clientSets: boolean;
  readonly clientModifies: boolean;
  readonly clientDeletes: boolean;
  readonly since: KmipVersion;
  readonly until?: KmipVersion;
  /**
   * How Locate finds values: through the attribute index by equality, by equality and date range,
   * or by reading candidates' stored attributes (attributes with few distinct values, which make
   * poor index keys and would cost every Create a dozen index writes).
   */
  readonly index: AttributeIndexing;
}

export type AttributeIndexing = 'equality' | 'range' | 'none';

/** One attribute instance in the internal form. Custom attributes keep their raw item as value. */
export interface Attribute {
  readonly name: string;
  readonly index: number;
  readonly value: unknown;
}

type Rules = Pick<AttributeDef, 'multi' | 'clientSets' | 'clientModifies' | 'clientDeletes'>;
const server: Rules = { multi: false, clientSets: false, clientModifies: false, clientDeletes: false };
const setOnce: Rules = { multi: false, clientSets: true, clientModifies: false, clientDeletes: false };
const client: Rules = { multi: false, clientSets: true, clientModifies: true, clientDeletes: true };
const clientMulti: Rules = { multi: true, clientSets: true, clientModifies: true, clientDeletes: true };

const EQUALITY_INDEXED = new Set([
  'Name',
  'Object Group',
  'Link',
  'Application Specific Information',
  'Alternative Name',
  'Contact Information',
  'Operation Policy Name',
  'Description',
  'Comment',
  'PKCS#12 Friendly Name',
  'Key Value Location',
  'X.509 Certificate Identifier',
  'X.509 Certificate Subject',
  'X.509 Certificate Issuer',
]);
const RANGE_INDEXED = new Set([
  'Initial Date',
  'Activation Date',
  'Deactivation Date',
  'Process Start Date',
  'Protect Stop Date',
  'Destroy Date',
  'Compromise Date',
  'Compromise Occurrence Date',
  'Archive Date',
]);

function def(name: string, tag: number, codec: ValueCodec<unknown>, rules: Rules, since = 10, until?: KmipVersion): AttributeDef {
  const index: AttributeIndexing = RANGE_INDEXED.has(name) ? 'range' : EQUALITY_INDEXED.has(name) ? 'equality' : 'none';
  return until === undefined ? { name, tag, codec, ...rules, since, index } : { name, tag, codec, ...rules, since, until, index };
}

const asUnknown = <T>(c: ValueCodec<T>): ValueCodec<unknown> => c as ValueCodec<unknown>;

/** 2.x splits certificate subject and issuer into one text attribute per field: [attribute label, tag suffix]. */
const CERTIFICATE_NAME_FIELDS = [
  ['CN', 'CN'],
  ['O', 'O'],
  ['OU', 'OU'],
  ['Email', 'Email'],
  ['C', 'C'],
  ['ST', 'ST'],
  ['L', 'L'],
  ['UID', 'UID'],
  ['Serial Number', 'SerialNumber'],
  ['Title', 'Title'],
  ['DC', 'DC'],
  ['DN Qualifier', 'DNQualifier'],
] as const;

export const ATTRIBUTES: readonly AttributeDef[] = [
  def('Unique Identifier', Tag.UniqueIdentifier, asUnknown(text), server),
  def('Short Unique Identifier', Tag.ShortUniqueIdentifier, asUnknown(bytes), server, 20),
  def('Name', Tag.Name, asUnknown(NameSchema), clientMulti),
  def('Object Type', Tag.ObjectType, asUnknown(enumeration('ObjectType')), server),
  def('Cryptographic Algorithm', Tag.CryptographicAlgorithm, asUnknown(enumeration('CryptographicAlgorithm')), setOnce),
  def('Cryptographic Length', Tag.CryptographicLength, asUnknown(integer), setOnce),
  def('Cryptographic Parameters', Tag.CryptographicParameters, asUnknown(CryptographicParametersSchema), clientMulti),
  def('Cryptographic Domain Parameters', Tag.CryptographicDomainParameters, asUnknown(CryptographicDomainParametersSchema), setOnce),
  def('Certificate Type', Tag.CertificateType, asUnknown(enumeration('CertificateType')), server),
  def('Certificate Length', Tag.CertificateLength, asUnknown(integer), server, 11),
  def('X.509 Certificate Identifier', Tag.X_509CertificateIdentifier, asUnknown(X509CertificateIdentifierSchema), server, 11),
  def('X.509 Certificate Subject', Tag.X_509CertificateSubject, asUnknown(X509CertificateSubjectSchema), server, 11),
  def('X.509 Certificate Issuer', Tag.X_509CertificateIssuer, asUnknown(X509CertificateIssuerSchema), server, 11),
  def('Digital Signature Algorithm', Tag.DigitalSignatureAlgorithm, asUnknown(enumeration('DigitalSignatureAlgorithm')), server, 11),
  def('Digest', Tag.Digest, asUnknown(DigestSchema), { ...server, multi: true }),
  def('Operation Policy Name', Tag.OperationPolicyName, asUnknown(text), client, 10, 14),
  def('Cryptographic Usage Mask', Tag.CryptographicUsageMask, asUnknown(UsageMaskCodec), setOnce),
  def('Lease Time', Tag.LeaseTime, asUnknown(interval), server),
  def('Usage Limits', Tag.UsageLimits, asUnknown(UsageLimitsSchema), { ...setOnce, clientModifies: true }),
  def('State', Tag.State, asUnknown(enumeration('State')), server),
  def('Initial Date', Tag.InitialDate, asUnknown(dateTime), server),
  def('Activation Date', Tag.ActivationDate, asUnknown(dateTime), { ...setOnce, clientModifies: true }),
  def('Process Start Date', Tag.ProcessStartDate, asUnknown(dateTime), { ...setOnce, clientModifies: true }),
  def('Protect Stop Date', Tag.ProtectStopDate, asUnknown(dateTime), { ...setOnce, clientModifies: true }),
  def('Deactivation Date', Tag.DeactivationDate, asUnknown(dateTime), { ...setOnce, clientModifies: true }),
  def('Destroy Date', Tag.DestroyDate, asUnknown(dateTime), server),
  def('Compromise Occurrence Date', Tag.CompromiseOccurrenceDate, asUnknown(dateTime), server),
  def('Compromise Date', Tag.CompromiseDate, asUnknown(dateTime), server),
  def('Revocation Reason', Tag.RevocationReason, asUnknown(RevocationReasonSchema), server),
  def('Archive Date', Tag.ArchiveDate, asUnknown(dateTime), server),
  def('Object Group', Tag.ObjectGroup, asUnknown(text), { ...clientMulti, clientModifies: false }),
  def('Fresh', Tag.Fresh, asUnknown(boolean), server, 11),
  def('Link', Tag.Link, asUnknown(LinkSchema), clientMulti),
  def('Application Specific Information', Tag.ApplicationSpecificInformation, asUnknown(ApplicationSpecificInformationSchema), clientMulti),
  def('Contact Information', Tag.ContactInformation, asUnknown(text), client),
  def('Last Change Date', Tag.LastChangeDate, asUnknown(dateTime), server),
  def('Alternative Name', Tag.AlternativeName, asUnknown(AlternativeNameSchema), clientMulti, 12),
  def('Key Value Present', Tag.KeyValuePresent, asUnknown(boolean), server, 12),
  def('Key Value Location', Tag.KeyValueLocation, asUnknown(KeyValueLocationSchema), clientMulti, 12),
  def('Original Creation Date', Tag.OriginalCreationDate, asUnknown(dateTime), setOnce, 12),
  def('PKCS#12 Friendly Name', Tag.PKCS_12FriendlyName, asUnknown(text), client, 14),
  def('Description', Tag.Description, asUnknown(text), client, 14),
  def('Comment', Tag.Comment, asUnknown(text), client, 14),
  def('Sensitive', Tag.Sensitive, asUnknown(boolean), { ...setOnce, clientModifies: true }, 14),
  def('Always Sensitive', Tag.AlwaysSensitive, asUnknown(boolean), server, 14),
  def('Extractable', Tag.Extractable, asUnknown(boolean), { ...setOnce, clientModifies: true }, 14),
  def('Never Extractable', Tag.NeverExtractable, asUnknown(boolean), server, 14),
  def('Random Number Generator', Tag.RandomNumberGenerator, asUnknown(RNGParametersSchema), server, 13),
  // 2.x names the stored form of a key as an attribute; 1.x shows it only inside Key Blocks and Digests.
  def('Key Format Type', Tag.KeyFormatType, asUnknown(enumeration('KeyFormatType')), server, 20),
  def('Protection Storage Mask', Tag.ProtectionStorageMask, asUnknown(ProtectionStorageMaskCodec), server, 20),
  ...CERTIFICATE_NAME_FIELDS.flatMap(([label, key]) => [
    def(`Certificate Subject ${label}`, Tag[`CertificateSubject${key}`], asUnknown(text), server, 20),
    def(`Certificate Issuer ${label}`, Tag[`CertificateIssuer${key}`], asUnknown(text), server, 20),
  ]),
];

const BY_NAME = new Map(ATTRIBUTES.map((d) => [d.name, d]));
const BY_TAG = new Map(ATTRIBUTES.map((d) => [d.tag, d]));

/** Custom attributes: "x-" set by clients, "y-" set by the server (1.x §3.39). */
export function isCustomName(name: string): boolean {
  return name.startsWith('x-') || name.startsWith('y-');
}

const CUSTOM_CLIENT: AttributeDef = { name: 'x-', tag: Tag.AttributeValue, codec: raw as ValueCodec<unknown>, ...clientMulti, since: 10, index: 'equality' };
const CUSTOM_SERVER: AttributeDef = { ...CUSTOM_CLIENT, name: 'y-', ...server, multi: true };

/**
 * The definition for an attribute name, or undefined for names we do not know (in the given
 * version; without one, in any version — stored attributes outlive versions).
 */
export function attributeDef(name: string, version?: KmipVersion): AttributeDef | undefined {
  if (name.startsWith('x-')) return CUSTOM_CLIENT;
  if (name.startsWith('y-')) return CUSTOM_SERVER;
  const d = BY_NAME.get(name);
  return d && (version === undefined || inRange(version, d.since, d.until)) ? d : undefined;
}

export function unsupportedAttribute(name: string): KmipError {
  return new KmipError(ResultReason.UnsupportedAttribute, `attribute ${JSON.stringify(name.slice(0, 64))} is not supported`);
}

function customValue(item: TtlvItem, name: string): TtlvItem {
  if (item.type === ItemType.Structure) throw invalidField(`custom attribute ${name} must not be a Structure`);
  return { ...item, tag: Tag.AttributeValue };
}

/**
 * The dates an object may hold: from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the range every
 * place that shows them (ISO 8601 in the management API and kmipctl, the logs) can represent.
 */
export const MIN_DATE_SECONDS = 0;
export const MAX_DATE_SECONDS = 253_402_300_799;

/** How a decoded attribute is used: stored on an object (`set`, the default), or only compared (Locate, Current Attribute). */
export type AttributeUse = 'set' | 'match';

/** Refuses, with Invalid Field, a date attribute an object could hold but nothing could show. */
function checkStorable(d: AttributeDef, name: string, value: unknown, use: AttributeUse): void {
  if (use !== 'set' || d.codec !== (dateTime as ValueCodec<unknown>) || typeof value !== 'number') return;
  if (value < MIN_DATE_SECONDS || value > MAX_DATE_SECONDS) {
    throw invalidField(`${name} must be a date from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (POSIX seconds ${MIN_DATE_SECONDS} to ${MAX_DATE_SECONDS})`);
  }
}

// ---- 1.x form: Attribute { Attribute Name, Attribute Index?, Attribute Value } ----

export const AttributeV1Schema = struct('Attribute', {
  attributeName: req(Tag.AttributeName, text),
  attributeIndex: opt(Tag.AttributeIndex, integer),
  attributeValue: opt(Tag.AttributeValue, raw),
});

export function attributeFromV1(
  a: { attributeName: string; attributeIndex?: number | undefined; attributeValue?: TtlvItem | undefined },
  ctx: CodecContext,
  use: AttributeUse = 'set',
): Attribute {
  const d = attributeDef(a.attributeName, ctx.version);
  if (!d) throw unsupportedAttribute(a.attributeName);
  if (a.attributeValue === undefined) throw invalidField(`attribute ${a.attributeName} has no value`);
  if (a.attributeIndex !== undefined && a.attributeIndex < 0) throw invalidField('Attribute Index must not be negative');
  const value = d === CUSTOM_CLIENT || d === CUSTOM_SERVER ? customValue(a.attributeValue, a.attributeName) : d.codec.decode(a.attributeValue, ctx);
  checkStorable(d, a.attributeName, value, use);
  return { name: a.attributeName, index: a.attributeIndex ?? 0, value };
}

export function attributeToV1(attr: Attribute, ctx: CodecContext): TtlvItem {
  const d = attributeDef(attr.name);
  if (!d) throw new Error(`unknown stored attribute ${attr.name}`);
  const children: TtlvItem[] = [{ tag: Tag.AttributeName, type: ItemType.TextString, value: attr.name }];
  if (attr.index > 0) children.push({ tag: Tag.AttributeIndex, type: ItemType.Integer, value: attr.index });
  children.push(d.codec.encode(Tag.AttributeValue, attr.value, ctx));
  return { tag: Tag.Attribute, type: ItemType.Structure, value: children };
}

// ---- 2.x form: typed items inside Attributes; custom ones as an Attribute structure with a Vendor Identification ----

export const VendorAttributeSchema = struct('Vendor Attribute', {
  vendorIdentification: req(Tag.VendorIdentification, text),
  attributeName: req(Tag.AttributeName, text),
  attributeValue: req(Tag.AttributeValue, raw),
});

/** Vendor "x" and "y" map to 1.x custom names "x-…" and "y-…", so both generations see the same attribute. */
export function attributeFromV2(item: TtlvItem, ctx: CodecContext, use: AttributeUse = 'set'): Attribute {
  if (item.tag === Tag.Attribute) {
    const v = VendorAttributeSchema.decode(item, ctx);
    const name = `${v.vendorIdentification}-${v.attributeName}`;
    if (!isCustomName(name)) throw unsupportedAttribute(name);
    return { name, index: 0, value: customValue(v.attributeValue, name) };
  }
  const d = BY_TAG.get(item.tag);
  if (!d || !inRange(ctx.version, d.since, d.until)) throw new KmipError(ResultReason.UnsupportedAttribute, 'attribute is not supported');
  const value = d.codec.decode(item, ctx);
  checkStorable(d, d.name, value, use);
  return { name: d.name, index: 0, value };
}

export function attributeToV2(attr: Attribute, ctx: CodecContext): TtlvItem | undefined {
  if (isCustomName(attr.name)) {
    const dash = attr.name.indexOf('-');
    return VendorAttributeSchema.encode(
      Tag.Attribute,
      { vendorIdentification: attr.name.slice(0, dash), attributeName: attr.name.slice(dash + 1), attributeValue: attr.value as TtlvItem },
      ctx,
    );
  }
  const d = BY_NAME.get(attr.name);
  if (!d || !inRange(ctx.version, d.since, d.until)) return undefined;
  return d.codec.encode(d.tag, attr.value, ctx);
}

/** 1.x Template-Attribute (also used as Common/Private/Public Template-Attribute). */
export const TemplateAttributeSchema = struct('Template-Attribute', {
  names: many(Tag.Name, NameSchema),
  attributes: many(Tag.Attribute, AttributeV1Schema),
});

/** 2.x Attributes: a structure of typed attribute items, decoded item by item through the registry. */
export const AttributesV2Codec: ValueCodec<readonly TtlvItem[]> = {
  itemType: ItemType.Structure,
  decode(item) {
    if (item.type !== ItemType.Structure) throw invalidField('Attributes must be a Structure');
    return item.value;
  },
  encode: (tag, value) => ({ tag, type: ItemType.Structure, value }),
};

/** 2.x Attribute Reference: a tag (as an Enumeration) or a vendor attribute's name. */
export const AttributeReferenceSchema = struct('Attribute Reference', {
  vendorIdentification: req(Tag.VendorIdentification, text),
  attributeName: req(Tag.AttributeName, text),
});

export function attributeNameForTag(tag: number, version: KmipVersion): string | undefined {
  const d = BY_TAG.get(tag);
  return d && inRange(version, d.since, d.until) ? d.name : undefined;
}

