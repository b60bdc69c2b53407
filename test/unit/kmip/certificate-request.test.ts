/**
 * Certificate Request objects (2.1 §2.2) through the executor: registered at 2.x only, checked as
 * Certify checks a request (PKCS#10 as DER or PEM, self-signature verified, bounded), served back
 * byte for byte, found by Locate, and certified later by naming them — Certify's Unique Identifier
 * (§6.1.6) and Re-certify's Certificate Request Unique Identifier (§6.1.45) — within the tenant only.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import type { Principal } from '../../../server/kmip/context.js';
import { MAX_REQUEST_BYTES } from '../../../server/kmip/crypto/pkcs10.js';
import {
  CertificateRequestType,
  CertificateType,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  HashingAlgorithm,
  KeyFormatType,
  LinkType,
  ObjectType,
  Operation,
  QueryFunction,
  ResultReason,
  ResultStatus,
} from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import { forgeCsr } from '../../support/forge-csr.js';
import type { DecodedItem } from '../../support/kmip-client.js';
import { attr, b, dt, e, s, t } from '../../support/ttlv-builder.js';
import { registerPrivate, registerPublic } from './crypto/helpers.js';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(() => h.close());

const nowSeconds = () => Math.floor(Date.now() / 1000);
const payload = (children: TtlvItem[]): TtlvItem => s(Tag.RequestPayload, children);
const link = (type: number, uid: string) => s(Tag.Link, [e(Tag.LinkType, type), t(Tag.LinkedObjectIdentifier, uid)]);

async function run(operation: number, children: TtlvItem[] | Record<string, unknown>, version = 21, who?: Principal): Promise<DecodedItem> {
  return (await h.run([{ operation, payload: Array.isArray(children) ? payload(children) : children }], { version }, who)).items[0]!;
}
async function ok(operation: number, children: TtlvItem[] | Record<string, unknown>, version = 21, who?: Principal): Promise<Record<string, unknown>> {
  const item = await run(operation, children, version, who);
  expect(item.resultStatus, `${item.resultReason} ${item.resultMessage}`).toBe(ResultStatus.Success);
  return item.payload!;
}

// ---------------------------------------------------------------- requests

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };
const rsa = (): KeyPair => generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A request made by node-forge, its PEM as the bytes a client registers. */
function forgeCsrBytes(key: KeyPair, commonName: string): { der: Uint8Array; pem: Uint8Array } {
  const { der, pem } = forgeCsr(key, commonName);
  return { der, pem: new Uint8Array(Buffer.from(pem)) };
}

const requestObject = (type: number, value: Uint8Array) => s(Tag.CertificateRequest, [e(Tag.CertificateRequestType, type), b(Tag.CertificateRequestValue, value)]);

function registerRequest(type: number, value: Uint8Array, o: { version?: number; who?: Principal; attributes?: TtlvItem[] } = {}): Promise<DecodedItem> {
  return run(Operation.Register, [e(Tag.ObjectType, ObjectType.CertificateRequest), s(Tag.Attributes, o.attributes ?? []), requestObject(type, value)], o.version ?? 21, o.who);
}
async function registered(type: number, value: Uint8Array, who?: Principal): Promise<string> {
  const item = await registerRequest(type, value, who ? { who } : {});
  expect(item.resultStatus, `${item.resultReason} ${item.resultMessage}`).toBe(ResultStatus.Success);
  return item.payload!['uniqueIdentifier'] as string;
}

/** The Certificate Request structure Get returns, as type and value. */
async function getRequest(uid: string, extra: Record<string, unknown> = {}): Promise<{ item: TtlvItem; type: unknown; value: Uint8Array }> {
  const p = await ok(Operation.Get, { uniqueIdentifier: uid, ...extra });
  expect(p['objectType']).toBe(ObjectType.CertificateRequest);
  const item = p['certificateRequest'] as TtlvItem;
  const children = item.value as TtlvItem[];
  return { item, type: children.find((c) => c.tag === Tag.CertificateRequestType)!.value, value: children.find((c) => c.tag === Tag.CertificateRequestValue)!.value as Uint8Array };
}

/** 2.x attributes of an object by tag. */
async function attributesOf(uid: string): Promise<Map<number, TtlvItem[]>> {
  const p = await ok(Operation.GetAttributes, { uniqueIdentifier: uid });
  const out = new Map<number, TtlvItem[]>();
  for (const a of p['attributesV2'] as TtlvItem[]) out.set(a.tag, [...(out.get(a.tag) ?? []), a]);
  return out;
}

async function locateRequests(who?: Principal): Promise<string[]> {
  return (await ok(Operation.Locate, [s(Tag.Attributes, [e(Tag.ObjectType, ObjectType.CertificateRequest)])], 21, who))['uniqueIdentifiers'] as string[];
}

// ---------------------------------------------------------------- CA (as certify.test.ts registers one)

interface Ca {
  readonly certUid: string;
  readonly x509: X509Certificate;
}

async function registerCa(who?: Principal): Promise<Ca> {
  const made = issueCertificate({ commonName: 'Tenant CA', organization: 'kmip-for-vmware tests', isCa: true, rsaBits: 2048 });
  const privateKey = createPrivateKey(made.privateKeyPem);
  const base = who ? { principal: who } : {};
  const privUid = await registerPrivate(h, CryptographicAlgorithm.RSA, privateKey, 2048, { mask: CryptographicUsageMask.CertificateSign | CryptographicUsageMask.Sign, ...base });
  const linkV1 = attr('Link', s(Tag.AttributeValue, [e(Tag.LinkType, LinkType.PrivateKeyLink), t(Tag.LinkedObjectIdentifier, privUid)]));
  const pubUid = await registerPublic(h, CryptographicAlgorithm.RSA, createPublicKey(privateKey), 2048, { mask: CryptographicUsageMask.Verify, extra: [linkV1], ...base });
  const x509 = new X509Certificate(made.certificatePem);
  const r = await h.run(
    [
      {
        operation: Operation.Register,
        payload: payload([
          e(Tag.ObjectType, ObjectType.Certificate),
          s(Tag.TemplateAttribute, [
            attr('Activation Date', dt(Tag.AttributeValue, nowSeconds() - 3600)),
            attr('Link', s(Tag.AttributeValue, [e(Tag.LinkType, LinkType.PublicKeyLink), t(Tag.LinkedObjectIdentifier, pubUid)])),
          ]),
          s(Tag.Certificate, [e(Tag.CertificateType, CertificateType.X_509), b(Tag.CertificateValue, new Uint8Array(x509.raw))]),
        ]),
      },
    ],
    { version: 14 },
    who,
  );
  expect(r.items[0]!.resultStatus, r.items[0]!.resultMessage).toBe(ResultStatus.Success);
  return { certUid: r.items[0]!.payload!['uniqueIdentifier'] as string, x509 };
}

async function certificate(uid: string): Promise<X509Certificate> {
  const p = await ok(Operation.Get, { uniqueIdentifier: uid });
  const children = (p['certificate'] as TtlvItem).value as TtlvItem[];
  return new X509Certificate(Buffer.from(children.find((c) => c.tag === Tag.CertificateValue)!.value as Uint8Array));
}

async function linksOf(uid: string): Promise<Array<[unknown, unknown]>> {
  return ((await attributesOf(uid)).get(Tag.Link) ?? []).map((l) => {
    const [type, id] = l.value as TtlvItem[];
    return [type!.value, id!.value];
  });
}

function expectIssuedBy(cert: X509Certificate, ca: Ca): void {
  expect(cert.checkIssued(ca.x509)).toBe(true);
  expect(cert.verify(ca.x509.publicKey)).toBe(true);
}

let key: KeyPair;
let csr: { der: Uint8Array; pem: Uint8Array };
let ca: Ca;
beforeAll(async () => {
  key = rsa();
  csr = forgeCsrBytes(key, 'stored.example');
  ca = await registerCa();
});

// ---------------------------------------------------------------- Register, Get, Locate

describe('Certificate Request objects at 2.1', () => {
  it.each([
    ['PKCS#10 (DER)', CertificateRequestType.PKCS_10, () => csr.der],
    ['PEM', CertificateRequestType.PEM, () => csr.pem],
  ] as const)('registers a %s request and Get returns it byte for byte', async (_label, type, value) => {
    const bytes = value();
    const uid = await registered(type, bytes);
    const got = await getRequest(uid);
    expect(got.type).toBe(type);
    expect(Buffer.from(got.value).equals(Buffer.from(bytes))).toBe(true);
    expect(got.item).toEqual(requestObject(type, bytes));

    const attrs = await attributesOf(uid);
    expect(attrs.get(Tag.ObjectType)?.[0]?.value).toBe(ObjectType.CertificateRequest);
    const digest = attrs.get(Tag.Digest)![0]!.value as TtlvItem[];
    expect(digest.find((c) => c.tag === Tag.HashingAlgorithm)!.value).toBe(HashingAlgorithm.SHA_256);
    expect(Buffer.from(digest.find((c) => c.tag === Tag.DigestValue)!.value as Uint8Array).equals(createHash('sha256').update(bytes).digest())).toBe(true);
    expect(attrs.get(Tag.CryptographicAlgorithm)?.[0]?.value).toBe(CryptographicAlgorithm.RSA);
    expect(attrs.get(Tag.CryptographicLength)?.[0]?.value).toBe(2048);
    // PKCS#10 is the object's default Key Format Type (2.1 §4.26); PEM text has none.
    expect(attrs.get(Tag.KeyFormatType)?.[0]?.value).toBe(type === CertificateRequestType.PKCS_10 ? KeyFormatType.PKCS_10 : undefined);
    const asPkcs10 = await run(Operation.Get, { uniqueIdentifier: uid, keyFormatType: KeyFormatType.PKCS_10 });
    if (type === CertificateRequestType.PKCS_10) expect(asPkcs10.resultStatus).toBe(ResultStatus.Success);
    else expect(asPkcs10.resultReason).toBe(ResultReason.KeyFormatTypeNotSupported);
  });

  it('refuses a tampered request, bytes that are no request, a mislabelled one, CRMF, PGP and an oversized one, storing nothing', async () => {
    const before = await locateRequests();
    // One letter of the subject changed: still well-formed, no longer what the key signed.
    const tampered = csr.der.slice();
    const at = Buffer.from(tampered).indexOf('stored.example');
    expect(at).toBeGreaterThan(0);
    tampered[at] = 'k'.charCodeAt(0);
    expect((await registerRequest(CertificateRequestType.PKCS_10, tampered)).resultReason).toBe(ResultReason.InvalidCSR);
    expect((await registerRequest(CertificateRequestType.PKCS_10, new Uint8Array(Buffer.from('not a request at all')))).resultReason).toBe(ResultReason.InvalidCSR);
    expect((await registerRequest(CertificateRequestType.PKCS_10, new Uint8Array(0))).resultReason).toBe(ResultReason.InvalidCSR);
    expect((await registerRequest(CertificateRequestType.PEM, csr.der)).resultReason).toBe(ResultReason.InvalidCSR);
    expect((await registerRequest(CertificateRequestType.PKCS_10, csr.pem)).resultReason).toBe(ResultReason.InvalidCSR);
    expect((await registerRequest(CertificateRequestType.CRMF, csr.der)).resultReason).toBe(ResultReason.FeatureNotSupported);
    // PGP requests are reserved from 2.0: no such value.
    expect((await registerRequest(CertificateRequestType.PGP, csr.der)).resultReason).toBe(ResultReason.InvalidField);
    const big = new Uint8Array(MAX_REQUEST_BYTES + 1);
    big.set(csr.der);
    expect((await registerRequest(CertificateRequestType.PKCS_10, big)).resultReason).toBe(ResultReason.InvalidCSR);
    // The object must be the one the Object Type names.
    const mismatch = await run(Operation.Register, [e(Tag.ObjectType, ObjectType.CertificateRequest), s(Tag.Attributes, []), s(Tag.OpaqueObject, [e(Tag.OpaqueDataType, 0x80000001), b(Tag.OpaqueDataValue, csr.der)])]);
    expect(mismatch.resultReason).toBe(ResultReason.InvalidField);
    expect(await locateRequests()).toEqual(before);
  });

  it('is a 2.x object type: refused at 1.4, not listed by Query there, not served to a 1.4 client', async () => {
    const r = await h.run(
      [{ operation: Operation.Register, payload: payload([e(Tag.ObjectType, ObjectType.CertificateRequest), s(Tag.TemplateAttribute, []), b(Tag.CertificateRequest, csr.der)]) }],
      { version: 14 },
    );
    expect(r.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidField });
    const query = async (version: number) => (await ok(Operation.Query, { queryFunctions: [QueryFunction.QueryObjects] }, version))['objectTypes'] as number[];
    expect(await query(21)).toContain(ObjectType.CertificateRequest);
    expect(await query(20)).toContain(ObjectType.CertificateRequest);
    expect(await query(14)).not.toContain(ObjectType.CertificateRequest);
    expect(await query(11)).not.toContain(ObjectType.CertificateRequest);
    const uid = await registered(CertificateRequestType.PKCS_10, csr.der);
    const at14 = await run(Operation.Get, { uniqueIdentifier: uid }, 14);
    // Invalid Object Type is a 2.x reason: a 1.4 client gets Invalid Field.
    expect(at14).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.InvalidField });
    expect((await run(Operation.Get, { uniqueIdentifier: uid }, 21)).resultStatus).toBe(ResultStatus.Success);
  });

  it('Locate by Object Type finds the tenant’s requests and nothing else; another tenant sees none of them', async () => {
    const uid = await registered(CertificateRequestType.PEM, csr.pem);
    const found = await locateRequests();
    expect(found).toContain(uid);
    expect(found).not.toContain(ca.certUid);
    for (const f of found) expect((await attributesOf(f)).get(Tag.ObjectType)?.[0]?.value).toBe(ObjectType.CertificateRequest);
    const other = await h.otherTenant();
    expect(await locateRequests(other)).toEqual([]);
    expect((await run(Operation.Get, { uniqueIdentifier: uid }, 21, other)).resultReason).toBe(ResultReason.ObjectNotFound);
  });
});

// ---------------------------------------------------------------- Certify and Re-certify by identifier

const issuer = () => s(Tag.Attributes, [link(LinkType.CertificateLink, ca.certUid)]);

describe('Certify and Re-certify naming a stored Certificate Request (2.1)', () => {
  it.each([
    ['PKCS#10', CertificateRequestType.PKCS_10, () => csr.der],
    ['PEM', CertificateRequestType.PEM, () => csr.pem],
  ] as const)('Certify with the Unique Identifier of a %s request issues a certificate the CA verifies', async (_label, type, value) => {
    const requestUid = await registered(type, value());
    const certUid = (await ok(Operation.Certify, [t(Tag.UniqueIdentifier, requestUid), issuer()]))['uniqueIdentifier'] as string;
    const cert = await certificate(certUid);
    expectIssuedBy(cert, ca);
    expect(cert.publicKey.equals(key.publicKey)).toBe(true);
    expect(cert.subject).toBe('O=Tenant\nCN=stored.example');
    expect(cert.subjectAltName).toBe('DNS:stored.example');
    // No Public Key object was named: only the issuer link, as for a request sent inline.
    expect(await linksOf(certUid)).toEqual([[LinkType.CertificateLink, ca.certUid]]);
    // The request object is left as it was.
    expect(Buffer.from((await getRequest(requestUid)).value).equals(Buffer.from(value()))).toBe(true);
  });

  it('Register (Certificate Request), Certify, Get: one batch through the ID Placeholder', async () => {
    const r = await h.run(
      [
        { operation: Operation.Register, id: '01', payload: payload([e(Tag.ObjectType, ObjectType.CertificateRequest), s(Tag.Attributes, []), requestObject(CertificateRequestType.PKCS_10, csr.der)]) },
        { operation: Operation.Certify, id: '02', payload: payload([issuer()]) },
        { operation: Operation.Get, id: '03', payload: {} },
      ],
      { version: 21 },
    );
    expect(r.items.map((i) => i.resultStatus), JSON.stringify(r.items.map((i) => i.resultMessage))).toEqual([ResultStatus.Success, ResultStatus.Success, ResultStatus.Success]);
    const got = (r.items[2]!.payload!['certificate'] as TtlvItem).value as TtlvItem[];
    const cert = new X509Certificate(Buffer.from(got.find((c) => c.tag === Tag.CertificateValue)!.value as Uint8Array));
    expectIssuedBy(cert, ca);
    expect(cert.publicKey.equals(key.publicKey)).toBe(true);
  });

  it('refuses a request both named and sent, a destroyed request, and the identifier at 1.4', async () => {
    const requestUid = await registered(CertificateRequestType.PKCS_10, csr.der);
    const both = await run(Operation.Certify, [t(Tag.UniqueIdentifier, requestUid), e(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), b(Tag.CertificateRequestValue, csr.der), issuer()]);
    expect(both.resultReason).toBe(ResultReason.InvalidField);
    // 1.x has no Certificate Request objects: the identifier names nothing Certify can certify.
    const at14 = await h.run(
      [{ operation: Operation.Certify, payload: payload([t(Tag.UniqueIdentifier, requestUid), s(Tag.TemplateAttribute, [attr('Link', s(Tag.AttributeValue, [e(Tag.LinkType, LinkType.CertificateLink), t(Tag.LinkedObjectIdentifier, ca.certUid)]))])]) }],
      { version: 14 },
    );
    expect(at14.items[0]).toMatchObject({ resultStatus: ResultStatus.OperationFailed, resultReason: ResultReason.PermissionDenied });
    await ok(Operation.Destroy, { uniqueIdentifier: requestUid });
    expect((await run(Operation.Certify, [t(Tag.UniqueIdentifier, requestUid), issuer()])).resultReason).toBe(ResultReason.WrongKeyLifecycleState);
  });

  it("never certifies another tenant's request", async () => {
    const other = await h.otherTenant();
    const theirs = await registered(CertificateRequestType.PKCS_10, csr.der, other);
    expect((await run(Operation.Certify, [t(Tag.UniqueIdentifier, theirs), issuer()])).resultReason).toBe(ResultReason.ObjectNotFound);
    const cert = (await ok(Operation.Certify, [e(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), b(Tag.CertificateRequestValue, csr.der), issuer()]))['uniqueIdentifier'] as string;
    expect((await run(Operation.ReCertify, [t(Tag.UniqueIdentifier, cert), t(Tag.CertificateRequestUniqueIdentifier, theirs)])).resultReason).toBe(ResultReason.ObjectNotFound);
    // Their own CA certifies it for them.
    const theirCa = await registerCa(other);
    expect((await run(Operation.Certify, [t(Tag.UniqueIdentifier, theirs), s(Tag.Attributes, [link(LinkType.CertificateLink, theirCa.certUid)])], 21, other)).resultStatus).toBe(ResultStatus.Success);
  });

  it('Re-certify takes a stored request by Certificate Request Unique Identifier, for the same key only', async () => {
    const oldUid = (await ok(Operation.Certify, [e(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), b(Tag.CertificateRequestValue, csr.der), issuer()]))['uniqueIdentifier'] as string;
    const renamed = await registered(CertificateRequestType.PEM, forgeCsrBytes(key, 'renamed.example').pem);
    const anotherKey = await registered(CertificateRequestType.PKCS_10, forgeCsrBytes(rsa(), 'stranger.example').der);
    expect((await run(Operation.ReCertify, [t(Tag.UniqueIdentifier, oldUid), t(Tag.CertificateRequestUniqueIdentifier, anotherKey)])).resultReason).toBe(ResultReason.InvalidCSR);
    // The identifier must name a Certificate Request, not a Certificate.
    expect((await run(Operation.ReCertify, [t(Tag.UniqueIdentifier, oldUid), t(Tag.CertificateRequestUniqueIdentifier, ca.certUid)])).resultReason).toBe(ResultReason.InvalidObjectType);
    const both = await run(Operation.ReCertify, [t(Tag.UniqueIdentifier, oldUid), t(Tag.CertificateRequestUniqueIdentifier, renamed), e(Tag.CertificateRequestType, CertificateRequestType.PKCS_10), b(Tag.CertificateRequestValue, csr.der)]);
    expect(both.resultReason).toBe(ResultReason.InvalidField);

    const newUid = (await ok(Operation.ReCertify, [t(Tag.UniqueIdentifier, oldUid), t(Tag.CertificateRequestUniqueIdentifier, renamed)]))['uniqueIdentifier'] as string;
    const cert = await certificate(newUid);
    expectIssuedBy(cert, ca);
    expect(cert.publicKey.equals(key.publicKey)).toBe(true);
    expect(cert.subject).toBe('O=Tenant\nCN=renamed.example');
    expect(await linksOf(newUid)).toContainEqual([LinkType.ReplacedObjectLink, oldUid]);
  });
});
