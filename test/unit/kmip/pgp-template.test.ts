/**
 * PGP Keys (1.4 §2.2.9) and Templates (1.0–1.4 §2.2.6, §2.1.8): Register and Get them back byte for
 * byte, find them, and — the point of Templates — have Create, Create Key Pair and Register take the
 * attributes of the Templates a Template-Attribute names, the request's own attributes first, each
 * tenant only its own Templates. 2.x clients never see a Template.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTtlv, ItemType, type TtlvItem } from '../../../server/ttlv/index.js';
import type { Principal } from '../../../server/kmip/context.js';
import { CryptographicAlgorithm, KeyFormatType, ObjectType, Operation, QueryFunction, ResultReason, ResultStatus, State } from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { MAX_PGP_KEY_BYTES } from '../../../server/kmip/objects/pgp-key.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { attr, b, e, i, name14, nameItem, s, t } from '../../support/ttlv-builder.js';
import { loadKmip11Vectors } from '../../support/vectors.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const payload = (children: TtlvItem[]): TtlvItem => s(Tag.RequestPayload, children);
const ENCRYPT_DECRYPT = 0x0c;
const SIGN = 0x01;

interface Outcome {
  readonly status: number;
  readonly reason?: number | undefined;
  readonly payload?: Record<string, unknown> | undefined;
}

async function run(operation: number, children: TtlvItem[] | Record<string, unknown>, version = 14, who?: Principal): Promise<Outcome> {
  const r = await h.run([{ operation, payload: Array.isArray(children) ? payload(children) : children }], { version }, who);
  const item = r.items[0]!;
  return { status: item.resultStatus, reason: item.resultReason, payload: item.payload };
}

async function ok(operation: number, children: TtlvItem[] | Record<string, unknown>, version = 14, who?: Principal): Promise<Record<string, unknown>> {
  const r = await run(operation, children, version, who);
  expect(r, `operation ${operation}`).toMatchObject({ status: ResultStatus.Success });
  return r.payload!;
}

/** The 1.x attributes of an object, by name (every instance). */
async function attributesOf(uid: string, version = 14, who?: Principal): Promise<Map<string, TtlvItem[]>> {
  const p = await ok(Operation.GetAttributes, { uniqueIdentifier: uid }, version, who);
  const out = new Map<string, TtlvItem[]>();
  for (const a of p['attributes'] as TtlvItem[]) {
    const children = a.value as TtlvItem[];
    const name = children.find((c) => c.tag === Tag.AttributeName)!.value as string;
    out.set(name, [...(out.get(name) ?? []), children.find((c) => c.tag === Tag.AttributeValue)!]);
  }
  return out;
}
const single = (attrs: Map<string, TtlvItem[]>, name: string) => attrs.get(name)?.[0]?.value;
const nameValues = (attrs: Map<string, TtlvItem[]>, name: string) => (attrs.get(name) ?? []).map((v) => v.value);

async function locate(criteria: TtlvItem[], version = 14, who?: Principal): Promise<string[]> {
  return (await ok(Operation.Locate, criteria, version, who))['uniqueIdentifiers'] as string[];
}

// ---------------------------------------------------------------- PGP Key

const ARMORED = new Uint8Array(
  Buffer.from(
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZk1c0RYJKwYBBAHaRw8BAQdA1HnCk0J8n9i0C6E0F3u2H9u3lA1W8a3A5r2C\nYkL0a5u0FXRlc3QgPHRlc3RAZXhhbXBsZS5vcmc+iJMEExYKADsWIQS8\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n',
  ),
);

function pgpKey(material: Uint8Array = ARMORED, opts: { version?: number; format?: number; algorithm?: number; length?: number } = {}): TtlvItem {
  return s(Tag.PGPKey, [
    i(Tag.PGPKeyVersion, opts.version ?? 4),
    s(Tag.KeyBlock, [
      e(Tag.KeyFormatType, opts.format ?? KeyFormatType.Opaque),
      s(Tag.KeyValue, [b(Tag.KeyMaterial, material)]),
      ...(opts.algorithm !== undefined ? [e(Tag.CryptographicAlgorithm, opts.algorithm)] : []),
      ...(opts.length !== undefined ? [i(Tag.CryptographicLength, opts.length)] : []),
    ]),
  ]);
}

const registerPgp = (object: TtlvItem, extra: TtlvItem[] = [], version = 14) =>
  run(Operation.Register, [e(Tag.ObjectType, ObjectType.PGPKey), s(Tag.TemplateAttribute, extra), object], version);

describe('PGP Key', () => {
  it('registers and gets back byte for byte, with its Digest, and Locate finds it by Object Type', async () => {
    const object = pgpKey(ARMORED, { algorithm: CryptographicAlgorithm.EC, length: 256 });
    const registered = await registerPgp(object, [attr('Name', name14('pgp-alice')), attr('Cryptographic Usage Mask', i(0, SIGN))]);
    expect(registered.status).toBe(ResultStatus.Success);
    const uid = registered.payload!['uniqueIdentifier'] as string;

    const got = await ok(Operation.Get, { uniqueIdentifier: uid });
    expect(got['objectType']).toBe(ObjectType.PGPKey);
    expect(Buffer.from(encodeTtlv(got['pgpKey'] as TtlvItem)).equals(Buffer.from(encodeTtlv(object)))).toBe(true);

    const attrs = await attributesOf(uid);
    expect(single(attrs, 'Object Type')).toBe(ObjectType.PGPKey);
    expect(single(attrs, 'Cryptographic Algorithm')).toBe(CryptographicAlgorithm.EC);
    expect(single(attrs, 'Cryptographic Length')).toBe(256);
    expect(single(attrs, 'Cryptographic Usage Mask')).toBe(SIGN);
    const digest = attrs.get('Digest')![0]!.value as TtlvItem[];
    expect(Buffer.from(digest.find((c) => c.tag === Tag.DigestValue)!.value as Uint8Array).equals(createHash('sha256').update(ARMORED).digest())).toBe(true);

    expect(await locate([attr('Object Type', e(0, ObjectType.PGPKey))])).toContain(uid);
    expect(await locate([attr('Object Type', e(0, ObjectType.SymmetricKey)), attr('Name', name14('pgp-alice'))])).toEqual([]);
    // 2.x has PGP Keys too.
    const v21 = await ok(Operation.Get, { uniqueIdentifier: uid }, 21);
    expect(Buffer.from(encodeTtlv(v21['pgpKey'] as TtlvItem)).equals(Buffer.from(encodeTtlv(object)))).toBe(true);
    // 1.0 and 1.1 define no PGP Key (a response would carry an Object Type they lack and no object): refused.
    for (const version of [10, 11]) expect(await run(Operation.Get, { uniqueIdentifier: uid }, version), `version ${version}`).toMatchObject({ reason: ResultReason.InvalidField });
  });

  it('is served in the form it was registered in, and no other', async () => {
    const uid = (await registerPgp(pgpKey(ARMORED, { format: KeyFormatType.Raw }))).payload!['uniqueIdentifier'] as string;
    expect((await run(Operation.Get, { uniqueIdentifier: uid, keyFormatType: KeyFormatType.Raw })).status).toBe(ResultStatus.Success);
    expect(await run(Operation.Get, { uniqueIdentifier: uid, keyFormatType: KeyFormatType.PKCS_1 })).toMatchObject({ reason: ResultReason.KeyFormatTypeNotSupported });
  });

  it('refuses what is not a PGP key the spec describes', async () => {
    expect(await registerPgp(pgpKey(ARMORED, { version: 5 }))).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerPgp(pgpKey(ARMORED, { format: KeyFormatType.PKCS_1 }))).toMatchObject({ reason: ResultReason.KeyFormatTypeNotSupported });
    expect(await registerPgp(pgpKey(new Uint8Array(0)))).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerPgp(pgpKey(new Uint8Array(MAX_PGP_KEY_BYTES + 1).fill(0x41)))).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerPgp(pgpKey(ARMORED, { algorithm: CryptographicAlgorithm.RSA }))).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerPgp(pgpKey(ARMORED, { algorithm: CryptographicAlgorithm.RSA, length: 2048 }), [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.EC))])).toMatchObject({
      reason: ResultReason.InvalidField,
    });
    // PGP Key is a 1.2 object type: a 1.1 client has none.
    expect((await registerPgp(pgpKey(), [], 11)).status).toBe(ResultStatus.OperationFailed);
    expect((await registerPgp(pgpKey(ARMORED, { version: 3 }))).status).toBe(ResultStatus.Success);
  });
});

// ---------------------------------------------------------------- Template

let templateCount = 0;
const templateName = (label: string) => `${label}-${++templateCount}`;

const template = (attributes: TtlvItem[]) => s(Tag.Template, attributes);
const aes = (length: number, usage = ENCRYPT_DECRYPT) => [
  attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.AES)),
  attr('Cryptographic Length', i(0, length)),
  attr('Cryptographic Usage Mask', i(0, usage)),
];

function registerTemplate(name: string | undefined, attributes: TtlvItem[], version = 14, who?: Principal): Promise<Outcome> {
  return run(Operation.Register, [e(Tag.ObjectType, ObjectType.Template), s(Tag.TemplateAttribute, name === undefined ? [] : [attr('Name', name14(name))]), template(attributes)], version, who);
}

async function newTemplate(name: string, attributes: TtlvItem[], who?: Principal): Promise<string> {
  const r = await registerTemplate(name, attributes, 14, who);
  expect(r, `register template ${name}`).toMatchObject({ status: ResultStatus.Success });
  return r.payload!['uniqueIdentifier'] as string;
}

/** Create (1.4) with a Template-Attribute of these Template names and explicit attributes. */
const create = (names: string[], explicit: TtlvItem[] = [], who?: Principal) =>
  run(Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [...names.map(nameItem), ...explicit])], 14, who);

describe('Template at 1.4: a managed object of attributes', () => {
  it('registers, gets back byte for byte, is found by Object Type and Name, and is destroyed', async () => {
    const name = templateName('aes-128');
    const object = template([...aes(128), attr('Object Group', t(0, 'from-template'))]);
    const registered = await run(Operation.Register, [e(Tag.ObjectType, ObjectType.Template), s(Tag.TemplateAttribute, [attr('Name', name14(name))]), object]);
    expect(registered.status).toBe(ResultStatus.Success);
    const uid = registered.payload!['uniqueIdentifier'] as string;

    const got = await ok(Operation.Get, { uniqueIdentifier: uid });
    expect(got['objectType']).toBe(ObjectType.Template);
    expect(Buffer.from(encodeTtlv(got['template'] as TtlvItem)).equals(Buffer.from(encodeTtlv(object)))).toBe(true);

    // The Template's own attributes are its Names; what it holds is for the objects made from it.
    const attrs = await attributesOf(uid);
    expect(single(attrs, 'Object Type')).toBe(ObjectType.Template);
    expect(nameValues(attrs, 'Name')).toHaveLength(1);
    expect(attrs.has('Cryptographic Algorithm')).toBe(false);
    expect(attrs.has('Object Group')).toBe(false);

    expect(await locate([attr('Object Type', e(0, ObjectType.Template)), attr('Name', name14(name))])).toEqual([uid]);
    expect(await locate([attr('Object Type', e(0, ObjectType.SymmetricKey)), attr('Name', name14(name))])).toEqual([]);

    expect(await run(Operation.Activate, { uniqueIdentifier: uid })).toMatchObject({ reason: ResultReason.IllegalOperation });
    expect((await run(Operation.Destroy, { uniqueIdentifier: uid })).status).toBe(ResultStatus.Success);
    expect(single(await attributesOf(uid), 'State')).toBe(State.Destroyed);
    expect((await run(Operation.Get, { uniqueIdentifier: uid })).status).toBe(ResultStatus.OperationFailed);
    // A destroyed Template is no longer there to be named.
    expect(await create([name])).toMatchObject({ reason: ResultReason.ItemNotFound });
  });

  it('holds only attributes meant for new objects, and is named in the Template-Attribute', async () => {
    expect(await registerTemplate(undefined, aes(128))).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerTemplate(templateName('empty'), [])).toMatchObject({ reason: ResultReason.InvalidField });
    // 1.2+ §11.4: a Name inside the Template structure is refused.
    expect(await registerTemplate(templateName('inner'), [...aes(128), attr('Name', name14(templateName('inner-name')))])).toMatchObject({ reason: ResultReason.InvalidField });
    expect((await registerTemplate(templateName('server-set'), [...aes(128), attr('Initial Date', { tag: 0, type: ItemType.DateTime, value: 1n })])).status).toBe(ResultStatus.OperationFailed);
    expect(await registerTemplate(templateName('link'), [attr('Link', s(0, [e(Tag.LinkType, 0x103), t(Tag.LinkedObjectIdentifier, 'x')]))])).toMatchObject({ reason: ResultReason.InvalidField });
    expect(await registerTemplate(templateName('twice'), [attr('Cryptographic Length', i(0, 128)), attr('Cryptographic Length', i(0, 256))])).toMatchObject({ status: ResultStatus.OperationFailed });
    // Its own attributes are its Names only.
    const r = await run(Operation.Register, [
      e(Tag.ObjectType, ObjectType.Template),
      s(Tag.TemplateAttribute, [attr('Name', name14(templateName('own'))), attr('Contact Information', t(0, 'ops'))]),
      template(aes(128)),
    ]);
    expect(r).toMatchObject({ reason: ResultReason.InvalidField });
  });

  it('stays destroyable whatever dates are added to the Template object itself', async () => {
    const uid = await newTemplate(templateName('dated'), aes(128));
    const past = { tag: 0, type: ItemType.DateTime, value: BigInt(Math.floor(Date.now() / 1000) - 60) } as TtlvItem;
    expect((await run(Operation.AddAttribute, [t(Tag.UniqueIdentifier, uid), attr('Activation Date', past)])).status).toBe(ResultStatus.Success);
    expect(await run(Operation.Revoke, [t(Tag.UniqueIdentifier, uid), s(Tag.RevocationReason, [e(Tag.RevocationReasonCode, 1)])])).toMatchObject({ reason: ResultReason.IllegalOperation });
    expect((await run(Operation.Destroy, { uniqueIdentifier: uid })).status).toBe(ResultStatus.Success);
  });

  it('cannot be used as a key', async () => {
    const uid = await newTemplate(templateName('not-a-key'), aes(256));
    const r = await run(Operation.Encrypt, { uniqueIdentifier: uid, data: new Uint8Array(16) });
    expect(r.status).toBe(ResultStatus.OperationFailed);
    expect(await run(Operation.Get, { uniqueIdentifier: uid, keyFormatType: KeyFormatType.Raw })).toMatchObject({ reason: ResultReason.KeyFormatTypeNotSupported });
  });

  it('at 1.1 takes the Template of the KMIP 1.1 test document, named inside it (1.1 §2.2.6)', async () => {
    const vector = loadKmip11Vectors().find((v) => v.id === 'kmip11-testdoc-register')!;
    const response = await h.executor.execute(new Uint8Array(Buffer.from(vector.request_hex!, 'hex')), h.principal);
    const uid = /[0-9a-f-]{36}/.exec(Buffer.from(response).toString('latin1'))?.[0];
    expect(uid).toBeDefined();
    const attrs = await attributesOf(uid!, 11);
    expect(single(attrs, 'Object Type')).toBe(ObjectType.Template);
    expect((nameValues(attrs, 'Name')[0] as TtlvItem[])[0]!.value).toBe('Template1');
    // Its Contact Information and x-Purpose are for the keys made from it.
    const key = await ok(Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [nameItem('Template1'), ...aes(128)])], 11);
    const keyAttrs = await attributesOf(key['uniqueIdentifier'] as string, 11);
    expect(single(keyAttrs, 'Contact Information')).toBe('Joe');
    expect(single(keyAttrs, 'x-Purpose')).toBe('demonstration');
    expect(nameValues(keyAttrs, 'Object Group')).toEqual(['Group1']);
    expect(keyAttrs.has('Name')).toBe(false);
  });
});

describe('Template-Attribute names (1.4 §2.1.8, §4)', () => {
  it('Create takes the algorithm, length and usage from the named Template', async () => {
    const name = templateName('aes-256');
    await newTemplate(name, [...aes(256, ENCRYPT_DECRYPT), attr('Object Group', t(0, 'tmpl-group'))]);
    const created = await create([name]);
    expect(created.status).toBe(ResultStatus.Success);
    const attrs = await attributesOf(created.payload!['uniqueIdentifier'] as string);
    expect(single(attrs, 'Cryptographic Algorithm')).toBe(CryptographicAlgorithm.AES);
    expect(single(attrs, 'Cryptographic Length')).toBe(256);
    expect(single(attrs, 'Cryptographic Usage Mask')).toBe(ENCRYPT_DECRYPT);
    expect(nameValues(attrs, 'Object Group')).toEqual(['tmpl-group']);
    // The Template's Name stays the Template's.
    expect(attrs.has('Name')).toBe(false);
  });

  it('the request’s own single-instance attributes win; multi-instance ones are the union', async () => {
    const name = templateName('defaults');
    await newTemplate(name, [...aes(128, ENCRYPT_DECRYPT), attr('Object Group', t(0, 'g-template')), attr('Object Group', t(0, 'g-both'))]);
    const created = await create([name], [attr('Cryptographic Length', i(0, 256)), attr('Object Group', t(0, 'g-both')), attr('Object Group', t(0, 'g-request')), attr('Name', name14(templateName('key')))]);
    expect(created.status).toBe(ResultStatus.Success);
    const attrs = await attributesOf(created.payload!['uniqueIdentifier'] as string);
    expect(single(attrs, 'Cryptographic Length')).toBe(256);
    expect(single(attrs, 'Cryptographic Usage Mask')).toBe(ENCRYPT_DECRYPT);
    expect(new Set(nameValues(attrs, 'Object Group'))).toEqual(new Set(['g-template', 'g-both', 'g-request']));
    expect(nameValues(attrs, 'Object Group')).toHaveLength(3);
    expect(nameValues(attrs, 'Name')).toHaveLength(1);
  });

  it('of several Templates the last named wins a single-instance attribute', async () => {
    const first = templateName('first');
    const second = templateName('second');
    await newTemplate(first, aes(128, ENCRYPT_DECRYPT));
    await newTemplate(second, [attr('Cryptographic Length', i(0, 192)), attr('Object Group', t(0, 'second'))]);
    const attrs = await attributesOf((await create([first, second])).payload!['uniqueIdentifier'] as string);
    expect(single(attrs, 'Cryptographic Length')).toBe(192);
    expect(single(attrs, 'Cryptographic Algorithm')).toBe(CryptographicAlgorithm.AES);
    const reversed = await attributesOf((await create([second, first])).payload!['uniqueIdentifier'] as string);
    expect(single(reversed, 'Cryptographic Length')).toBe(128);
  });

  it('a Template that does not exist is Item Not Found, and a request names only so many', async () => {
    expect(await create([templateName('never-registered')], aes(128))).toMatchObject({ reason: ResultReason.ItemNotFound });
    const name = templateName('many');
    await newTemplate(name, aes(128));
    expect(await create(Array.from({ length: 9 }, () => name))).toMatchObject({ reason: ResultReason.InvalidField });
    expect((await create(Array.from({ length: 8 }, () => name))).status).toBe(ResultStatus.Success);
  });

  it('a name another object carries is not a Template', async () => {
    const name = templateName('key-name');
    await ok(Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, [...aes(128), attr('Name', name14(name))])]);
    expect(await create([name])).toMatchObject({ reason: ResultReason.ItemNotFound });
  });

  it('a tenant uses only its own Templates', async () => {
    const other = await h.otherTenant();
    const name = templateName('theirs');
    await newTemplate(name, aes(256), other);
    expect(await create([name])).toMatchObject({ reason: ResultReason.ItemNotFound });
    expect((await create([name], [], other)).status).toBe(ResultStatus.Success);
    // The same name is free in this tenant, and names this tenant's Template.
    await newTemplate(name, aes(192));
    const mine = await create([name]);
    expect(single(await attributesOf(mine.payload!['uniqueIdentifier'] as string), 'Cryptographic Length')).toBe(192);
  });

  it('Create Key Pair and Register apply Templates too', async () => {
    const name = templateName('rsa');
    await newTemplate(name, [attr('Cryptographic Algorithm', e(0, CryptographicAlgorithm.RSA)), attr('Cryptographic Length', i(0, 2048)), attr('Contact Information', t(0, 'pki-team'))]);
    const pair = await ok(Operation.CreateKeyPair, [
      s(Tag.CommonTemplateAttribute, [nameItem(name)]),
      s(Tag.PrivateKeyTemplateAttribute, [attr('Cryptographic Usage Mask', i(0, SIGN)), attr('Contact Information', t(0, 'private-owner'))]),
    ]);
    const privateAttrs = await attributesOf(pair['privateKeyUniqueIdentifier'] as string);
    const publicAttrs = await attributesOf(pair['publicKeyUniqueIdentifier'] as string);
    expect(single(privateAttrs, 'Cryptographic Length')).toBe(2048);
    expect(single(privateAttrs, 'Contact Information')).toBe('private-owner');
    expect(single(publicAttrs, 'Contact Information')).toBe('pki-team');

    const secret = await ok(Operation.Register, [
      e(Tag.ObjectType, ObjectType.SecretData),
      s(Tag.TemplateAttribute, [nameItem(name), attr('Cryptographic Usage Mask', i(0, 0x80))]),
      s(Tag.SecretData, [e(Tag.SecretDataType, 1), s(Tag.KeyBlock, [e(Tag.KeyFormatType, KeyFormatType.Opaque), s(Tag.KeyValue, [b(Tag.KeyMaterial, new Uint8Array(Buffer.from('correct horse battery staple')))])])]),
    ]);
    expect(single(await attributesOf(secret['uniqueIdentifier'] as string), 'Contact Information')).toBe('pki-team');
  });
});

describe('Template-Attribute names in ReKey', () => {
  it('the replacement key takes the named Template’s attributes', async () => {
    const name = templateName('rekey');
    await newTemplate(name, [attr('Contact Information', t(0, 'rotation-team'))]);
    const key = (await ok(Operation.Create, [e(Tag.ObjectType, ObjectType.SymmetricKey), s(Tag.TemplateAttribute, aes(256))]))['uniqueIdentifier'] as string;
    await ok(Operation.Activate, { uniqueIdentifier: key });
    const next = await ok(Operation.ReKey, [t(Tag.UniqueIdentifier, key), s(Tag.TemplateAttribute, [nameItem(name)])]);
    const attrs = await attributesOf(next['uniqueIdentifier'] as string);
    expect(single(attrs, 'Contact Information')).toBe('rotation-team');
    expect(single(attrs, 'Cryptographic Length')).toBe(256);
  });
});

describe('Template and 2.x', () => {
  it('is refused as an Object Type that 2.x does not define, and never listed', async () => {
    const r = await run(Operation.Register, [e(Tag.ObjectType, ObjectType.Template), s(Tag.Attributes, [nameItem(templateName('v21'))])], 21);
    expect(r).toMatchObject({ status: ResultStatus.OperationFailed, reason: ResultReason.InvalidField });
    const query = async (version: number) => (await ok(Operation.Query, { queryFunctions: [QueryFunction.QueryObjects] }, version))['objectTypes'] as number[];
    expect(await query(21)).not.toContain(ObjectType.Template);
    expect(await query(21)).toContain(ObjectType.PGPKey);
    expect(await query(14)).toEqual(expect.arrayContaining([ObjectType.Template, ObjectType.PGPKey]));
    expect(await query(11)).toContain(ObjectType.Template);
    expect(await query(11)).not.toContain(ObjectType.PGPKey);
  });

  it('a Template a 1.x client registered is not served to a 2.x client, nor found by its Locate', async () => {
    const name = templateName('for-1x');
    const uid = await newTemplate(name, aes(128));
    expect(await run(Operation.Get, { uniqueIdentifier: uid }, 21)).toMatchObject({ reason: ResultReason.InvalidObjectType });
    expect((await run(Operation.Get, { uniqueIdentifier: uid }, 14)).status).toBe(ResultStatus.Success);
    expect(await locate([attr('Name', name14(name))])).toEqual([uid]);
    expect(await locate([s(Tag.Attributes, [s(Tag.Name, [t(Tag.NameValue, name), e(Tag.NameType, 1)])])], 21)).toEqual([]);
    // By its identifier too (Locate reads that one object directly).
    expect(await locate([s(Tag.Attributes, [t(Tag.UniqueIdentifier, uid)])], 21)).toEqual([]);
    expect(await locate([attr('Unique Identifier', t(0, uid))])).toEqual([uid]);
  });
});
