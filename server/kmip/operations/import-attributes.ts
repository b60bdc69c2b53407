/**
 * The attributes of an imported object (1.4 §4.41, 2.1 §6.1.25). Import carries "all the attributes
 * to be assigned to the object" and says the "initially set by" and "when implicitly set" rules do
 * not apply: the attributes are the supplied values, not ones the server makes. So State, the dates,
 * Fresh, Always Sensitive, Random Number Generator, Revocation Reason and the rest of the server's
 * attributes are taken as given. What the server holds is never misdescribed, though:
 *
 * - Unique Identifier, Short Unique Identifier and Object Type must name the object being imported;
 * - attributes computed from the material (algorithm, length, Digest, Key Format Type, the
 *   certificate's fields) must agree with what Register derives from it, and are derived when absent;
 * - Protection Storage Mask must permit software, the only storage here, and says software;
 * - Key Value Present must be True: the object arrives with its Key Value;
 * - Lease Time is this server's lease policy, not a property of the object: a given one is not kept;
 * - a destroyed object has no material, so Import (which always carries it) refuses that State.
 *
 * Where a value is missing the server fills in what Register would: the State from the Activation
 * Date, Initial and Last Change Date now, and the Sensitive/Extractable pairs at their defaults —
 * Always Sensitive and Never Extractable False, as this server cannot vouch for the object's past.
 */
import type { TtlvItem } from '../../ttlv/index.js';
import type { OperationContext } from '../context.js';
import { invalidField, KmipError } from '../errors.js';
import { ProtectionStorageMask, ResultReason, State } from '../generated/enums.js';
import { encodeAttributeValue, shortUniqueIdentifier } from '../managed-object.js';
import { attributeDef, attributeFromV1, attributeFromV2, type Attribute } from '../model/attributes.js';
import type { DigestValue } from '../model/attribute-values.js';
import { attributeSingleValued } from './attribute-rules.js';
import { nowSeconds } from './common.js';

export interface GivenAttributeV1 {
  readonly attributeName: string;
  readonly attributeIndex?: number | undefined;
  readonly attributeValue?: TtlvItem | undefined;
}

/** The object as it will be stored: its State, whether it was ever served, and its attribute instances. */
export interface ImportedObject {
  readonly state: number;
  readonly fresh: boolean;
  readonly attributes: readonly Attribute[];
}

/** What the object itself says: its identity and the attributes Register derives from its material. */
export interface ImportFacts {
  readonly uid: string;
  readonly objectType: number;
  readonly derived: readonly Attribute[];
}

/** Server attributes that only describe material: given for an object whose material shows none, they are false. */
const MATERIAL_ONLY = new Set([
  'Key Format Type',
  'Certificate Type',
  'Certificate Length',
  'X.509 Certificate Identifier',
  'X.509 Certificate Subject',
  'X.509 Certificate Issuer',
]);
const isMaterialOnly = (name: string) => MATERIAL_ONLY.has(name) || name.startsWith('Certificate Subject ') || name.startsWith('Certificate Issuer ');

/** Kept as columns or checked against the object, never stored as given. */
const IDENTITY = new Set(['Unique Identifier', 'Short Unique Identifier', 'Object Type']);

const invalidValue = (msg: string): KmipError => new KmipError(ResultReason.InvalidAttributeValue, msg);

const sameValue = (name: string, a: unknown, b: unknown): boolean => encodeAttributeValue(name, a).key === encodeAttributeValue(name, b).key;

/**
 * The client's attributes, decoded and numbered. 1.x instances keep the Attribute Index they were
 * exported with (so gaps left by deleted instances survive a move); instances without one, and every
 * 2.x instance, take the lowest free index of their attribute in the order given.
 */
export function givenAttributes(ctx: OperationContext, v1: readonly GivenAttributeV1[], v2: readonly TtlvItem[] | undefined): Attribute[] {
  const decoded: Array<{ attribute: Attribute; explicit: boolean }> = [
    ...v1.map((a) => ({ attribute: attributeFromV1(a, ctx), explicit: a.attributeIndex !== undefined })),
    ...(v2 ?? []).map((item) => ({ attribute: attributeFromV2(item, ctx), explicit: false })),
  ];
  const used = new Map<string, Set<number>>();
  const usedBy = (name: string) => used.get(name) ?? used.set(name, new Set()).get(name)!;
  for (const { attribute: a, explicit } of decoded) {
    if (!explicit) continue;
    if (usedBy(a.name).has(a.index)) throw invalidField(`attribute ${a.name} has index ${a.index} twice`);
    usedBy(a.name).add(a.index);
  }
  const out = decoded.map(({ attribute: a, explicit }) => {
    if (explicit) return a;
    const taken = usedBy(a.name);
    let index = 0;
    while (taken.has(index)) index++;
    taken.add(index);
    return { ...a, index };
  });
  for (const a of out) {
    const def = attributeDef(a.name, ctx.version)!;
    if (def.multi) continue;
    if (a.index !== 0) throw invalidField(`attribute ${a.name} has one instance, index 0`);
    if (out.filter((b) => b.name === a.name).length > 1) throw attributeSingleValued(a.name);
  }
  return out;
}

function checkIdentity(a: Attribute, facts: ImportFacts): void {
  const expected = a.name === 'Unique Identifier' ? facts.uid : a.name === 'Object Type' ? facts.objectType : shortUniqueIdentifier(facts.uid);
  if (!sameValue(a.name, a.value, expected)) throw invalidValue(`${a.name} does not name the object being imported`);
}

/** A given Digest must match the one computed here with the same algorithm and format; others cannot be checked and are kept. */
function checkDigest(given: DigestValue, derived: readonly Attribute[]): void {
  const twin = derived
    .map((d) => d.value as DigestValue)
    .find((d) => d.hashingAlgorithm === given.hashingAlgorithm && d.keyFormatType === given.keyFormatType);
  if (twin && !sameValue('Digest', given, twin)) throw invalidValue('Digest does not match the object');
}

function checkDerived(a: Attribute, derived: readonly Attribute[]): void {
  const own = derived.filter((d) => d.name === a.name);
  if (a.name === 'Digest') return checkDigest(a.value as DigestValue, own);
  if (own.length === 0) {
    if (isMaterialOnly(a.name)) throw invalidValue(`${a.name} does not apply to this object`);
    return;
  }
  if (!own.some((d) => sameValue(a.name, a.value, d.value))) throw invalidValue(`${a.name} does not agree with the object`);
}

export function importedAttributes(ctx: OperationContext, given: readonly Attribute[], facts: ImportFacts): ImportedObject {
  const now = nowSeconds(ctx);
  const stored: Attribute[] = [];
  let state: number | undefined;
  let fresh = true;
  for (const a of given) {
    checkDerived(a, facts.derived);
    if (IDENTITY.has(a.name)) checkIdentity(a, facts);
    else if (a.name === 'State') state = a.value as number;
    else if (a.name === 'Fresh') fresh = a.value === true;
    else if (a.name === 'Protection Storage Mask') {
      if (((a.value as number) & ProtectionStorageMask.Software) === 0) {
        throw new KmipError(ResultReason.ProtectionStorageUnavailable, 'this server keeps objects in software storage only, which the Protection Storage Mask does not permit');
      }
      stored.push({ ...a, value: ProtectionStorageMask.Software });
    } else if (a.name === 'Key Value Present' && a.value !== true) {
      throw invalidValue('Key Value Present is False, but the object arrives with its Key Value');
    } else if (a.name !== 'Lease Time') stored.push(a);
  }
  if (state === State.Destroyed || state === State.DestroyedCompromised) throw invalidValue('a destroyed object has no material to import');
  const has = (name: string) => stored.some((a) => a.name === name);
  const value = (name: string) => stored.find((a) => a.name === name)?.value;
  const fill = (name: string, v: unknown) => {
    if (!has(name)) stored.push({ name, index: 0, value: v });
  };
  // Derived attributes the client left out, as Register would set them (a Digest only when none was given).
  const missing = new Set(facts.derived.filter((d) => !has(d.name)).map((d) => d.name));
  stored.push(...facts.derived.filter((d) => missing.has(d.name)));
  fill('Initial Date', now);
  fill('Original Creation Date', value('Initial Date'));
  fill('Last Change Date', now);
  fill('Sensitive', false);
  fill('Extractable', true);
  fill('Always Sensitive', false);
  fill('Never Extractable', false);
  fill('Protection Storage Mask', ProtectionStorageMask.Software);
  if (value('Always Sensitive') === true && value('Sensitive') !== true) throw invalidValue('Always Sensitive is True but Sensitive is not');
  if (value('Never Extractable') === true && value('Extractable') !== false) throw invalidValue('Never Extractable is True but Extractable is not False');
  const activation = value('Activation Date') as number | undefined;
  return { state: state ?? (activation !== undefined && activation <= now ? State.Active : State.PreActive), fresh, attributes: stored };
}
