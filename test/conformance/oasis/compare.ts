/**
 * Compares the server's response with the one the test case expects, under the tolerance table,
 * and reports the first difference as a path such as BatchItem[0]/ResponsePayload/State.
 */
import { ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import { tagName } from '../../../server/kmip/tag-names.js';
import { Operation } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { describeValue, LOCATE_UNORDERED, mayAdd, NOW_TOLERANCE, OPTIONAL_ITEMS, QUERY_SERVER_TO_CLIENT, QUERY_SUPERSET, TOLERANCES, UNORDERED_PARENTS, UNORDERED_SIBLINGS, type ToleranceContext } from './tolerances.js';

export interface Difference {
  readonly path: string;
  readonly message: string;
}

export interface CompareEnv {
  readonly caseName: string;
  readonly step: number;
  /** Expected items that are placeholders, by name ($UNIQUE_IDENTIFIER_0). */
  readonly placeholders: WeakMap<TtlvItem, string>;
  /** Expected dates written as $NOW±s. */
  readonly nowDates: WeakSet<TtlvItem>;
  /** Values the server returned for placeholders so far in this file; compare adds new ones. */
  captures: Map<string, TtlvItem>;
  /** Per batch item: it is about an object the server generated. */
  readonly generated: readonly boolean[];
  /** Per batch item: it is about a public or private key. */
  readonly asymmetric: readonly boolean[];
}

interface Where {
  readonly path: string;
  readonly tags: readonly number[];
  readonly batchIndex: number;
  readonly operation: number | undefined;
}

function sameValue(e: TtlvItem, a: TtlvItem): boolean {
  if (e.type !== a.type) return false;
  if (e.type === ItemType.ByteString) {
    const av = a.value as Uint8Array;
    return e.value.length === av.length && e.value.every((b, i) => b === av[i]);
  }
  if (e.type === ItemType.Structure) {
    const av = a.value as readonly TtlvItem[];
    return e.value.length === av.length && e.value.every((c, i) => c.tag === av[i]!.tag && sameValue(c, av[i]!));
  }
  return e.value === a.value;
}

const label = (tag: number, index: number, repeated: boolean): string => (repeated ? `${tagName(tag)}[${index}]` : tagName(tag));

function operationOf(batchItem: TtlvItem): number | undefined {
  if (batchItem.type !== ItemType.Structure) return undefined;
  const op = batchItem.value.find((c) => c.tag === Tag.Operation);
  return op?.type === ItemType.Enumeration ? op.value : undefined;
}

function compareItem(e: TtlvItem, a: TtlvItem, where: Where, env: CompareEnv, siblings: readonly TtlvItem[] = []): Difference | undefined {
  const diff = (message: string): Difference => ({ path: where.path, message });
  if (e.tag !== a.tag) return diff(`expected ${tagName(e.tag)}, got ${tagName(a.tag)}`);
  const placeholder = env.placeholders.get(e);
  if (placeholder !== undefined) {
    if (a.type !== e.type) return diff(`expected a ${typeLabel(e)} for ${placeholder}, got ${typeLabel(a)}`);
    const known = env.captures.get(placeholder);
    if (known === undefined) env.captures.set(placeholder, a);
    else if (!sameValue(known, a)) return diff(`${placeholder} was ${describeValue(known)} earlier in this file, now ${describeValue(a)}`);
    return undefined;
  }
  if (env.nowDates.has(e)) return NOW_TOLERANCE.accepts(e, a) ? undefined : diff(`expected a date within ${NOW_TOLERANCE.name} window of ${describeValue(e)}, got ${describeValue(a)} (${typeLabel(a)})`);
  const ctx: ToleranceContext = {
    caseName: env.caseName,
    step: env.step,
    tags: where.tags,
    generatedObject: env.generated[where.batchIndex] ?? false,
    operation: where.operation,
    asymmetricObject: env.asymmetric[where.batchIndex] ?? false,
    siblings,
  };
  const tolerance = TOLERANCES.find((t) => t.applies(e, ctx));
  if (tolerance) return tolerance.accepts(e, a) ? undefined : diff(`expected ${describeValue(e)}, got ${describeValue(a)} (tolerance "${tolerance.name}" does not accept it)`);
  if (e.type !== a.type) return diff(`expected a ${typeLabel(e)}, got a ${typeLabel(a)} ${describeValue(a)}`);
  if (e.type === ItemType.Structure) return compareChildren(e, a as typeof e, where, env);
  if (sameValue(e, a)) return undefined;
  if (e.type === ItemType.ByteString && (a.value as Uint8Array).length === e.value.length) return diff(`the ${e.value.length} bytes differ from the file's`);
  return diff(`expected ${describeValue(e)}, got ${describeValue(a)}`);
}

function typeLabel(item: TtlvItem): string {
  return Object.entries(ItemType).find(([, code]) => code === item.type)?.[0] ?? String(item.type);
}

function childWhere(parent: Where, item: TtlvItem, index: number, repeated: boolean): Where {
  const batchIndex = item.tag === Tag.BatchItem ? index : parent.batchIndex;
  return {
    path: `${parent.path}${parent.path ? '/' : ''}${label(item.tag, index, repeated || item.tag === Tag.BatchItem)}`,
    tags: [...parent.tags, item.tag],
    batchIndex,
    operation: item.tag === Tag.BatchItem ? operationOf(item) : parent.operation,
  };
}

/** Children in order, except attribute lists (order-free); Result Message may be present or absent. */
function compareChildren(e: Extract<TtlvItem, { type: 0x01 }>, a: Extract<TtlvItem, { type: 0x01 }>, where: Where, env: CompareEnv): Difference | undefined {
  const unorderedAll = UNORDERED_PARENTS.has(e.tag);
  const queryAnswer = where.operation === Operation.Query && e.tag === Tag.ResponsePayload;
  const superset = (c: TtlvItem) => queryAnswer && QUERY_SUPERSET.has(c.tag);
  const locateAnswer = where.operation === Operation.Locate && e.tag === Tag.ResponsePayload;
  const isBag = (c: TtlvItem) => unorderedAll || UNORDERED_SIBLINGS.has(c.tag) || superset(c) || (locateAnswer && LOCATE_UNORDERED.has(c.tag));
  const both = (tag: number) => e.value.some((x) => x.tag === tag) && a.value.some((y) => y.tag === tag);
  const keep = (c: TtlvItem) => !OPTIONAL_ITEMS.has(c.tag) || both(c.tag);
  const expected = e.value.filter(keep);
  const actual = a.value.filter(keep);
  const repeated = (tag: number) => expected.filter((c) => c.tag === tag).length > 1 || actual.filter((c) => c.tag === tag).length > 1;
  const indexIn = (list: readonly TtlvItem[], item: TtlvItem) => list.filter((c) => c.tag === item.tag).indexOf(item);

  const eOrdered = expected.filter((c) => !isBag(c));
  const aOrdered = actual.filter((c) => !isBag(c));
  for (let i = 0; i < Math.max(eOrdered.length, aOrdered.length); i++) {
    const ec = eOrdered[i];
    const ac = aOrdered[i];
    if (!ec) return { path: childWhere(where, ac!, indexIn(actual, ac!), repeated(ac!.tag)).path, message: `not expected: ${tagName(ac!.tag)} ${describeValue(ac!)}` };
    const w = childWhere(where, ec, indexIn(expected, ec), repeated(ec.tag));
    if (!ac) return { path: w.path, message: `missing from the response (expected ${describeValue(ec)})` };
    const d = compareItem(ec, ac, w, env, expected);
    if (d) return d;
  }

  const unmatched = actual.filter(isBag);
  for (const ec of expected.filter(isBag)) {
    const w = childWhere(where, ec, indexIn(expected, ec), repeated(ec.tag));
    let closest: Difference | undefined;
    const found = unmatched.findIndex((ac) => {
      if (ac.tag !== ec.tag) return false;
      const saved = new Map(env.captures);
      const d = compareItem(ec, ac, w, env, expected);
      if (d) {
        env.captures = saved;
        // The difference worth reporting is against the attribute of the same name, not the first candidate.
        if (attributeLabel(ec) !== '' && attributeLabel(ac) === attributeLabel(ec)) closest ??= d;
      }
      return d === undefined;
    });
    if (found === -1 && queryAnswer && ec.tag === Tag.Operation && QUERY_SERVER_TO_CLIENT.has(ec.value as number)) continue;
    if (found === -1) return closest ?? { path: w.path, message: `missing from the response (expected ${describeValue(ec)}${attributeLabel(ec)})` };
    unmatched.splice(found, 1);
  }
  const extra = unmatched.find((c) => !superset(c) && !mayAdd(env.caseName, where.operation, c));
  if (extra) return { path: childWhere(where, extra, indexIn(actual, extra), repeated(extra.tag)).path, message: `not expected: ${tagName(extra.tag)} ${describeValue(extra)}${attributeLabel(extra)}` };
  return undefined;
}

/** "Cryptographic Length" for a 1.x Attribute, so an attribute difference names the attribute. */
function attributeLabel(item: TtlvItem): string {
  if (item.type !== ItemType.Structure) return '';
  const name = item.value.find((c) => c.tag === Tag.AttributeName);
  return name?.type === ItemType.TextString ? ` "${name.value}"` : '';
}

/** The first difference between an expected and an actual message, or undefined when they match. */
export function compareMessages(expected: TtlvItem, actual: TtlvItem, env: CompareEnv): Difference | undefined {
  return compareItem(expected, actual, { path: '', tags: [], batchIndex: 0, operation: undefined }, env);
}
