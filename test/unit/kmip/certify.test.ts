/**
 * Certify and Re-certify through the executor, at 1.4 and 2.1: certificates signed by a CA the
 * tenant registered, checked the way their users would check them (node's X509Certificate and
 * `openssl verify`), with the links, names and dates the spec gives them, and the requests refused.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TtlvItem } from '../../../server/ttlv/index.js';
import type { Principal } from '../../../server/kmip/context.js';
import {
  CertificateRequestType,
  CertificateType,
  CryptographicAlgorithm,
  CryptographicUsageMask,
  DigitalSignatureAlgorithm,
  LinkType,
  ObjectType,
  Operation,
  QueryFunction,
  ResultReason,
  ResultStatus,
  State,
} from '../../../server/kmip/generated/enums.js';
import { Tag } from '../../../server/kmip/generated/tags.js';
import { bitString, derNull, oid, sequence, smallInteger, tlv } from '../../../server/kmip/crypto/der-writer.js';
import { issueCertificate } from '../../../server/pki/certificates.js';
import { attributeMap, enumAttr, intAttr, nameAttr } from '../../support/attributes.js';
import { forgeCsr } from '../../support/forge-csr.js';
import { executorHarness, type ExecutorHarness } from '../../support/executor.js';
import type { DecodedItem } from '../../support/kmip-client.js';
import { attr, b, dt, e, iv, name14, nameItem, s, t } from '../../support/ttlv-builder.js';
import { registerPrivate, registerPublic } from './crypto/helpers.js';

let h: ExecutorHarness;
const dir = mkdtempSync(join(tmpdir(), 'kmip-certify-'));
beforeAll(async () => {
  h = await executorHarness();
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
const VERSIONS = [14, 21] as const;

// ---------------------------------------------------------------- request building

const linkV1 = (type: number, uid: string) => attr('Link', s(Tag.AttributeValue, [e(Tag.LinkType, type), t(Tag.LinkedObjectIdentifier, uid)]));
const linkV2 = (type: number, uid: string) => s(Tag.Link, [e(Tag.LinkType, type), t(Tag.LinkedObjectIdentifier, uid)]);

interface CertifyOptions {
  readonly uid?: string;
  readonly csr?: { readonly type: number; readonly bytes: Uint8Array };
  readonly issuer?: string;
  /** Attributes in the version's own form (1.x Attribute or Name items, 2.x typed items). */
  readonly attributes?: TtlvItem[];
  readonly offset?: number;
}

function payload(version: number, o: CertifyOptions): TtlvItem {
  const is2x = version >= 20;
  const items: TtlvItem[] = [];
  if (o.uid !== undefined) items.push(t(Tag.UniqueIdentifier, o.uid));
  if (o.csr) items.push(e(Tag.CertificateRequestType, o.csr.type), b(is2x ? Tag.CertificateRequestValue : Tag.CertificateRequest, o.csr.bytes));
  if (o.offset !== undefined) items.push(iv(Tag.Offset, o.offset));
  const attributes = [...(o.issuer ? [is2x ? linkV2(LinkType.CertificateLink, o.issuer) : linkV1(LinkType.CertificateLink, o.issuer)] : []), ...(o.attributes ?? [])];
  if (attributes.length > 0) items.push(s(is2x ? Tag.Attributes : Tag.TemplateAttribute, attributes));
  return s(Tag.RequestPayload, items);
}

async function run(operation: number, version: number, o: CertifyOptions, principal?: Principal): Promise<DecodedItem> {
  return (await h.run([{ operation, payload: payload(version, o) }], { version }, principal)).items[0]!;
}

async function issued(operation: number, version: number, o: CertifyOptions): Promise<string> {
  const item = await run(operation, version, o);
  expect(item.resultStatus, `${item.resultReason} ${item.resultMessage}`).toBe(ResultStatus.Success);
  return item.payload!['uniqueIdentifier'] as string;
}

const pkcs10 = (bytes: Uint8Array) => ({ type: CertificateRequestType.PKCS_10, bytes });

// ---------------------------------------------------------------- reading results

async function attributes(uid: string): Promise<Map<string, TtlvItem[]>> {
  const r = await h.run([{ operation: Operation.GetAttributes, payload: { uniqueIdentifier: uid, attributeNames: [], attributeReferences: [] } }], { version: 14 });
  return attributeMap(r.items[0]!.payload!['attributes'] as TtlvItem[]);
}
async function links(uid: string): Promise<Array<[number, string]>> {
  return ((await attributes(uid)).get('Link') ?? []).map((l) => {
    const [type, id] = l.value as TtlvItem[];
    return [type!.value as number, id!.value as string];
  });
}
const first = (m: Map<string, TtlvItem[]>, name: string) => m.get(name)?.[0]?.value;
const names = (m: Map<string, TtlvItem[]>) => (m.get('Name') ?? []).map((n) => (n.value as TtlvItem[])[0]!.value);

async function certificate(uid: string): Promise<X509Certificate> {
  const r = await h.run([{ operation: Operation.Get, payload: { uniqueIdentifier: uid } }], { version: 14 });
  const cert = (r.items[0]!.payload!['certificate'] as TtlvItem).value as TtlvItem[];
  expect(cert.find((c) => c.tag === Tag.CertificateType)!.value).toBe(CertificateType.X_509);
  return new X509Certificate(Buffer.from(cert.find((c) => c.tag === Tag.CertificateValue)!.value as Uint8Array));
}

/** What a consumer outside node makes of it: `openssl verify` against the CA alone. */
function opensslVerifies(caPem: string, cert: X509Certificate): string {
  const ca = join(dir, `ca-${Math.random().toString(36).slice(2)}.pem`);
  const leaf = join(dir, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(ca, caPem);
  writeFileSync(leaf, cert.toString());
  return execFileSync('openssl', ['verify', '-CAfile', ca, leaf], { encoding: 'utf8' }).trim();
}

function expectIssuedBy(cert: X509Certificate, ca: Ca): void {
  expect(cert.checkIssued(ca.x509)).toBe(true);
  expect(cert.verify(ca.x509.publicKey)).toBe(true);
  expect(cert.ca).toBe(false);
  expect(opensslVerifies(ca.pem, cert)).toMatch(/: OK$/);
}

// ---------------------------------------------------------------- fixtures

interface Ca {
  readonly certUid: string;
  readonly pem: string;
  readonly x509: X509Certificate;
}

async function registerCertificate(der: Uint8Array, extra: TtlvItem[], principal?: Principal): Promise<string> {
  const r = await h.run(
    [
      {
        operation: Operation.Register,
        payload: s(Tag.RequestPayload, [
          e(Tag.ObjectType, ObjectType.Certificate),
          s(Tag.TemplateAttribute, [attr('Activation Date', dt(Tag.AttributeValue, nowSeconds() - 3600)), ...extra]),
          s(Tag.Certificate, [e(Tag.CertificateType, CertificateType.X_509), b(Tag.CertificateValue, new Uint8Array(der))]),
        ]),
      },
    ],
    { version: 14 },
    principal,
  );
  expect(r.items[0]!.resultStatus, r.items[0]!.resultMessage).toBe(ResultStatus.Success);
  return r.items[0]!.payload!['uniqueIdentifier'] as string;
}

/**
 * A tenant's CA as KMIP links it: Certificate → (Public Key Link) Public Key → (Private Key Link)
 * Private Key, the private key allowed to sign certificates.
 */
async function registerCa(
  o: { principal?: Principal; mask?: number; certificatePem?: string; privateKey?: KeyObject; bits?: number; algorithm?: number } = {},
): Promise<Ca> {
  const made = o.certificatePem ? undefined : issueCertificate({ commonName: 'Tenant CA', organization: 'kmip-for-vmware tests', isCa: true, rsaBits: 2048 });
  const pem = o.certificatePem ?? made!.certificatePem;
  const privateKey = o.privateKey ?? createPrivateKey(made!.privateKeyPem);
  const algorithm = o.algorithm ?? CryptographicAlgorithm.RSA;
  const bits = o.bits ?? 2048;
  const mask = o.mask ?? CryptographicUsageMask.CertificateSign | CryptographicUsageMask.Sign;
  const base = o.principal ? { principal: o.principal } : {};
  const privUid = await registerPrivate(h, algorithm, privateKey, bits, { mask, ...base });
  const pubUid = await registerPublic(h, algorithm, createPublicKey(privateKey), bits, { mask: CryptographicUsageMask.Verify, extra: [linkV1(LinkType.PrivateKeyLink, privUid)], ...base });
  const x509 = new X509Certificate(pem);
  const certUid = await registerCertificate(x509.raw, [linkV1(LinkType.PublicKeyLink, pubUid)], o.principal);
  return { certUid, pem, x509 };
}

interface Subject {
  readonly pubUid: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

async function registerSubject(principal?: Principal): Promise<Subject> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pubUid = await registerPublic(h, CryptographicAlgorithm.RSA, publicKey, 2048, { mask: CryptographicUsageMask.Verify, ...(principal ? { principal } : {}) });
  return { pubUid, publicKey, privateKey };
}


let ca: Ca;
beforeAll(async () => {
  ca = await registerCa();
});

// ---------------------------------------------------------------- Certify

describe.each(VERSIONS)('Certify at KMIP %i', (version) => {
  it('issues a certificate from a PKCS#10 request, signed by the tenant CA, for the named public key, linked both ways', async () => {
    const subject = await registerSubject();
    const csr = forgeCsr(subject);
    const certUid = await issued(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(csr.der), issuer: ca.certUid });
    const cert = await certificate(certUid);
    expectIssuedBy(cert, ca);
    expect(cert.publicKey.equals(subject.publicKey)).toBe(true);
    expect(cert.subject).toBe('O=Tenant\nCN=client.example');
    expect(cert.subjectAltName).toBe('DNS:client.example');
    expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(Date.parse(ca.x509.validTo));

    expect(await links(certUid)).toEqual([
      [LinkType.PublicKeyLink, subject.pubUid],
      [LinkType.CertificateLink, ca.certUid],
    ]);
    expect(await links(subject.pubUid)).toEqual([[LinkType.CertificateLink, certUid]]);
    const a = await attributes(certUid);
    expect(first(a, 'Object Type')).toBe(ObjectType.Certificate);
    expect(first(a, 'Certificate Type')).toBe(CertificateType.X_509);
    expect(first(a, 'Digital Signature Algorithm')).toBe(DigitalSignatureAlgorithm.SHA_256WithRSAEncryption);
    expect(first(a, 'State')).toBe(State.PreActive);
  });

  it('refuses a request for another key than the named public key, and a request whose signature is broken', async () => {
    const subject = await registerSubject();
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrongKey = await run(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(forgeCsr(otherKey).der), issuer: ca.certUid });
    expect(wrongKey.resultReason).toBe(version >= 20 ? ResultReason.InvalidCSR : ResultReason.InvalidField);

    // Change one letter of the subject: the request is still well-formed, but no longer what the key signed.
    const tampered = forgeCsr(subject).der.slice();
    const at = Buffer.from(tampered).indexOf('client.example');
    expect(at).toBeGreaterThan(0);
    tampered[at] = 'k'.charCodeAt(0);
    const broken = await run(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(tampered), issuer: ca.certUid });
    expect(broken.resultReason).toBe(version >= 20 ? ResultReason.InvalidCSR : ResultReason.InvalidField);
    expect(await links(subject.pubUid)).toEqual([]);
  });

  it("never signs with another tenant's CA, nor lets another tenant sign with this one", async () => {
    const other = await h.otherTenant();
    const otherCa = await registerCa({ principal: other });
    const subject = await registerSubject();
    const csr = forgeCsr(subject);
    const notFound = version >= 20 ? ResultReason.ObjectNotFound : ResultReason.ItemNotFound;
    expect((await run(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(csr.der), issuer: otherCa.certUid })).resultReason).toBe(notFound);
    const theirs = await registerSubject(other);
    expect((await run(Operation.Certify, version, { uid: theirs.pubUid, csr: pkcs10(forgeCsr(theirs).der), issuer: ca.certUid }, other)).resultReason).toBe(notFound);
    // The other tenant's own CA works for it.
    expect((await run(Operation.Certify, version, { uid: theirs.pubUid, csr: pkcs10(forgeCsr(theirs).der), issuer: otherCa.certUid }, other)).resultStatus).toBe(ResultStatus.Success);
  });

  it('refuses CRMF requests and requests that name no issuer', async () => {
    const subject = await registerSubject();
    const csr = forgeCsr(subject);
    const crmf = await run(Operation.Certify, version, { uid: subject.pubUid, csr: { type: CertificateRequestType.CRMF, bytes: csr.der }, issuer: ca.certUid });
    expect(crmf.resultReason).toBe(ResultReason.FeatureNotSupported);
    const noIssuer = await run(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(csr.der) });
    expect(noIssuer.resultReason).toBe(ResultReason.InvalidField);
    expect(noIssuer.resultMessage).toMatch(/Certificate Link/);
  });

  it('refuses a CA whose private key may not sign certificates, and a Certificate Link that names no CA', async () => {
    const signingOnly = await registerCa({ mask: CryptographicUsageMask.Sign });
    const subject = await registerSubject();
    const csr = pkcs10(forgeCsr(subject).der);
    const refused = await run(Operation.Certify, version, { uid: subject.pubUid, csr, issuer: signingOnly.certUid });
    expect(refused.resultReason).toBe(version >= 20 ? ResultReason.IncompatibleCryptographicUsageMask : ResultReason.PermissionDenied);
    // A certificate that is not a CA's: one issued to the subject, Active like a usable CA's would be.
    const activeNow = version >= 20 ? dt(Tag.ActivationDate, nowSeconds() - 60) : attr('Activation Date', dt(Tag.AttributeValue, nowSeconds() - 60));
    const leaf = await issued(Operation.Certify, version, { uid: subject.pubUid, csr, issuer: ca.certUid, attributes: [activeNow] });
    const notCa = await run(Operation.Certify, version, { uid: subject.pubUid, csr, issuer: leaf });
    expect(notCa.resultReason).toBe(ResultReason.InvalidField);
    expect(notCa.resultMessage).toMatch(/not a CA certificate/);
  });
});

describe('Certify, other forms', () => {
  it('takes a PEM request (1.4) and refuses PGP ones', async () => {
    const subject = await registerSubject();
    const csr = forgeCsr(subject, 'pem.example');
    const certUid = await issued(Operation.Certify, 14, { uid: subject.pubUid, csr: { type: CertificateRequestType.PEM, bytes: new Uint8Array(Buffer.from(csr.pem)) }, issuer: ca.certUid });
    const cert = await certificate(certUid);
    expectIssuedBy(cert, ca);
    expect(cert.subject).toContain('CN=pem.example');
    // DER sent as PEM is not what the type says.
    const mislabelled = await run(Operation.Certify, 14, { uid: subject.pubUid, csr: { type: CertificateRequestType.PEM, bytes: csr.der }, issuer: ca.certUid });
    expect(mislabelled.resultReason).toBe(ResultReason.InvalidField);
    const pgp = await run(Operation.Certify, 14, { uid: subject.pubUid, csr: { type: CertificateRequestType.PGP, bytes: csr.der }, issuer: ca.certUid });
    expect(pgp.resultReason).toBe(ResultReason.FeatureNotSupported);
  });

  it('certifies a request alone at 2.1 (no public key object): no key links', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certUid = await issued(Operation.Certify, 21, { csr: pkcs10(forgeCsr(key, 'alone.example').der), issuer: ca.certUid });
    const cert = await certificate(certUid);
    expectIssuedBy(cert, ca);
    expect(cert.publicKey.equals(key.publicKey)).toBe(true);
    expect(await links(certUid)).toEqual([[LinkType.CertificateLink, ca.certUid]]);
  });

  it('refuses RSA keys below 2048 bits', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const r = await run(Operation.Certify, 21, { csr: pkcs10(forgeCsr(weak).der), issuer: ca.certUid });
    expect(r.resultReason).toBe(ResultReason.InvalidField);
    expect(r.resultMessage).toMatch(/2048/);
  });

  it('Create Key Pair, Certify without a request, Get: one batch through the ID Placeholder', async () => {
    const r = await h.run(
      [
        {
          operation: Operation.CreateKeyPair,
          id: '01',
          payload: {
            commonTemplateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', CryptographicAlgorithm.RSA), intAttr('Cryptographic Length', 2048)] },
            privateKeyTemplateAttribute: { names: [], attributes: [nameAttr('batch-private')] },
            publicKeyTemplateAttribute: { names: [], attributes: [nameAttr('batch-public')] },
          },
        },
        { operation: Operation.Certify, id: '02', payload: s(Tag.RequestPayload, [s(Tag.TemplateAttribute, [linkV1(LinkType.CertificateLink, ca.certUid), attr('Certificate Type', e(Tag.AttributeValue, CertificateType.X_509))])]) },
        { operation: Operation.Get, id: '03', payload: {} },
      ],
      { version: 14 },
    );
    expect(r.items.map((i) => i.resultStatus), JSON.stringify(r.items.map((i) => i.resultMessage))).toEqual([ResultStatus.Success, ResultStatus.Success, ResultStatus.Success]);
    const publicUid = r.items[0]!.payload!['publicKeyUniqueIdentifier'] as string;
    const certUid = r.items[1]!.payload!['uniqueIdentifier'] as string;
    const got = (r.items[2]!.payload!['certificate'] as TtlvItem).value as TtlvItem[];
    const cert = new X509Certificate(Buffer.from(got.find((c) => c.tag === Tag.CertificateValue)!.value as Uint8Array));
    expectIssuedBy(cert, ca);
    expect(cert.subject).toBe('CN=batch-public');
    expect(await links(publicUid)).toContainEqual([LinkType.CertificateLink, certUid]);
    expect(await links(certUid)).toContainEqual([LinkType.PublicKeyLink, publicUid]);
  });

  it('issues with an EC CA for an EC key, requests made by openssl: ECDSA with SHA-256, verified by openssl', async () => {
    const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const caKeyFile = join(dir, 'ec-ca.key');
    writeFileSync(caKeyFile, caKey.export({ type: 'pkcs8', format: 'pem' }));
    const caPem = execFileSync('openssl', ['req', '-x509', '-new', '-key', caKeyFile, '-subj', '/CN=EC Tenant CA', '-days', '30'], { encoding: 'utf8' });
    const ecCa = await registerCa({ certificatePem: caPem, privateKey: caKey, algorithm: CryptographicAlgorithm.EC, bits: 256 });

    const subjectKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pubUid = await registerPublic(h, CryptographicAlgorithm.EC, subjectKey.publicKey, 256, { mask: CryptographicUsageMask.Verify });
    const keyFile = join(dir, 'ec-subject.key');
    const csrFile = join(dir, 'ec-subject.csr');
    writeFileSync(keyFile, subjectKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=ec-client', '-outform', 'DER', '-out', csrFile]);
    const certUid = await issued(Operation.Certify, 21, { uid: pubUid, csr: pkcs10(new Uint8Array(readFileSync(csrFile))), issuer: ecCa.certUid });
    const cert = await certificate(certUid);
    expectIssuedBy(cert, ecCa);
    expect(cert.publicKey.equals(subjectKey.publicKey)).toBe(true);
    expect(first(await attributes(certUid), 'Digital Signature Algorithm')).toBe(DigitalSignatureAlgorithm.ECDSAWithSHA256);
  });

  it('Query lists Certify and Re-certify', async () => {
    for (const version of VERSIONS) {
      const r = await h.run([{ operation: Operation.Query, payload: { queryFunctions: [QueryFunction.QueryOperations] } }], { version });
      expect(r.items[0]!.payload!['operations']).toEqual(expect.arrayContaining([Operation.Certify, Operation.ReCertify]));
    }
  });
});

// ---------------------------------------------------------------- Re-certify

describe.each(VERSIONS)('Re-certify at KMIP %i', (version) => {
  // 1.x names an object with a Name attribute (a bare Name in a Template-Attribute names a Template).
  const nameAttribute = (value: string) => (version >= 20 ? nameItem(value) : attr('Name', name14(value)));

  it('renews for the same key: new serial, same subject, links both ways, the Name moves, the public key follows', async () => {
    const subject = await registerSubject();
    const name = `web-cert-${version}-${Math.random().toString(36).slice(2)}`;
    const oldUid = await issued(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid, attributes: [nameAttribute(name)] });
    const newUid = await issued(Operation.ReCertify, version, { uid: oldUid });
    const [before, after] = [await certificate(oldUid), await certificate(newUid)];
    expectIssuedBy(after, ca);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subject).toBe(before.subject);
    expect(after.subjectAltName).toBe('DNS:client.example');
    expect(after.publicKey.equals(subject.publicKey)).toBe(true);

    expect(await links(newUid)).toEqual([
      [LinkType.ReplacedObjectLink, oldUid],
      [LinkType.PublicKeyLink, subject.pubUid],
      [LinkType.CertificateLink, ca.certUid],
    ]);
    expect(await links(oldUid)).toContainEqual([LinkType.ReplacementObjectLink, newUid]);
    expect(await links(subject.pubUid)).toEqual([[LinkType.CertificateLink, newUid]]);
    expect(names(await attributes(newUid))).toEqual([name]);
    expect(names(await attributes(oldUid))).toEqual([]);

    // One replacement per certificate (1.4 §3.35): renew the renewal instead.
    expect((await run(Operation.ReCertify, version, { uid: oldUid })).resultReason).toBe(ResultReason.PermissionDenied);
    expect((await run(Operation.ReCertify, version, { uid: newUid })).resultStatus).toBe(ResultStatus.Success);
  });

  it('takes a new request for the same key, refuses one for another key', async () => {
    const subject = await registerSubject();
    const oldUid = await issued(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid });
    const other = await run(Operation.ReCertify, version, { uid: oldUid, csr: pkcs10(forgeCsr(generateKeyPairSync('rsa', { modulusLength: 2048 })).der) });
    expect(other.resultReason).toBe(version >= 20 ? ResultReason.InvalidCSR : ResultReason.InvalidField);
    const newUid = await issued(Operation.ReCertify, version, { uid: oldUid, csr: pkcs10(forgeCsr(subject, 'renamed.example').der) });
    const cert = await certificate(newUid);
    expectIssuedBy(cert, ca);
    expect(cert.subjectAltName).toBe('DNS:renamed.example');
  });
});

describe('Re-certify dates', () => {
  const dateAttr = (name: string, seconds: number) => attr(name, dt(Tag.AttributeValue, seconds));

  it('copies Activation and Deactivation Dates without an Offset; with one, shifts them as 1.4 Table 186 says', async () => {
    const subject = await registerSubject();
    const at1 = nowSeconds() - 3600;
    const dt1 = nowSeconds() + 30 * 86_400;
    const oldUid = await issued(Operation.Certify, 14, {
      uid: subject.pubUid,
      csr: pkcs10(forgeCsr(subject).der),
      issuer: ca.certUid,
      attributes: [dateAttr('Activation Date', at1), dateAttr('Deactivation Date', dt1)],
    });
    const copied = await attributes(await issued(Operation.ReCertify, 14, { uid: oldUid }));
    expect(first(copied, 'Activation Date')).toBe(BigInt(at1));
    expect(first(copied, 'Deactivation Date')).toBe(BigInt(dt1));
    expect(first(copied, 'State')).toBe(State.Active);

    const second = await issued(Operation.Certify, 14, {
      uid: subject.pubUid,
      csr: pkcs10(forgeCsr(subject).der),
      issuer: ca.certUid,
      attributes: [dateAttr('Activation Date', at1), dateAttr('Deactivation Date', dt1)],
    });
    const offset = 600;
    const before = nowSeconds();
    const shifted = await attributes(await issued(Operation.ReCertify, 14, { uid: second, offset }));
    const at2 = Number(first(shifted, 'Activation Date'));
    expect(at2).toBeGreaterThanOrEqual(before + offset);
    expect(at2).toBeLessThanOrEqual(nowSeconds() + offset);
    expect(Number(first(shifted, 'Deactivation Date'))).toBe(dt1 + (at2 - at1));
    expect(first(shifted, 'State')).toBe(State.PreActive);
  });

  it('refuses an Offset together with an Activation Date (1.4 §11.9)', async () => {
    const subject = await registerSubject();
    const oldUid = await issued(Operation.Certify, 14, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid });
    const r = await run(Operation.ReCertify, 14, { uid: oldUid, offset: 60, attributes: [dateAttr('Activation Date', nowSeconds())] });
    expect(r.resultReason).toBe(ResultReason.InvalidMessage);
  });
});

// ---------------------------------------------------------------- certificates node reads but the DER reader refuses

/**
 * A certificate made by openssl (another implementation than ours) with an EC P-256 key and the
 * extensions given, each an `-addext` value. Self-signed, so it serves as a CA or as a leaf to renew.
 */
function opensslCertificate(label: string, extensions: readonly string[]): { pem: string; key: KeyObject } {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const keyFile = join(dir, `${label}.key`);
  writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }));
  const pem = execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', `/CN=${label}`, '-days', '30', ...extensions.flatMap((x) => ['-addext', x])], { encoding: 'utf8' });
  // The premise: node takes these certificates as they are.
  expect(new X509Certificate(pem).raw.length).toBeGreaterThan(0);
  return { pem, key };
}
const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'];
/** An extension of 5000 bytes: over the 4096 the server's reader takes. */
const OVERSIZED = `1.3.6.1.4.1.99999.1=ASN1:UTF8String:${'x'.repeat(5000)}`;
/** 70 extensions: more elements than the server's reader takes in one SEQUENCE. */
const MANY = Array.from({ length: 70 }, (_, i) => `1.3.6.1.4.1.99999.2.${i}=ASN1:NULL`);

describe('DER that one reader takes and the other does not: the request is refused, not a server fault', () => {
  it.each([
    ['an extension over 4096 bytes', [OVERSIZED]],
    ['more than 64 extensions', MANY],
  ])('Certify refuses an issuing CA certificate with %s as Invalid Field', async (label, extensions) => {
    const made = opensslCertificate(`unreadable-ca-${label.length}`, [...CA_EXTENSIONS, ...extensions]);
    const odd = await registerCa({ certificatePem: made.pem, privateKey: made.key, algorithm: CryptographicAlgorithm.EC, bits: 256 });
    const subject = await registerSubject();
    for (const version of VERSIONS) {
      const r = await run(Operation.Certify, version, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: odd.certUid });
      expect(r.resultReason, r.resultMessage).toBe(ResultReason.InvalidField);
      expect(r.resultMessage).toMatch(/issuing CA certificate cannot be read/);
    }
    expect(await links(subject.pubUid)).toEqual([]);
  });

  it('Re-certify refuses to renew a certificate with an oversized extension from itself, and renews it from a new request', async () => {
    const made = opensslCertificate('unreadable-leaf', [OVERSIZED]);
    const leafUid = await registerCertificate(new X509Certificate(made.pem).raw, []);
    for (const version of VERSIONS) {
      const r = await run(Operation.ReCertify, version, { uid: leafUid, issuer: ca.certUid });
      expect(r.resultReason, r.resultMessage).toBe(ResultReason.InvalidField);
      expect(r.resultMessage).toMatch(/renewed certificate cannot be read/);
    }
    // With a request the old certificate's subject and extensions are not needed: only its key, which node reads.
    const keyFile = join(dir, 'unreadable-leaf.key');
    const csrFile = join(dir, 'unreadable-leaf.csr');
    execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=renewed-leaf', '-outform', 'DER', '-out', csrFile]);
    const newUid = await issued(Operation.ReCertify, 21, { uid: leafUid, issuer: ca.certUid, csr: pkcs10(new Uint8Array(readFileSync(csrFile))) });
    const cert = await certificate(newUid);
    expectIssuedBy(cert, ca);
    expect(cert.subject).toBe('CN=renewed-leaf');
  });
});

/**
 * A PKCS#10 request, correctly self-signed, whose subject is a SEQUENCE but no Name (an INTEGER
 * where the RDNs go): the server's request reader takes it, node will not read a certificate carrying it.
 */
function csrWithBogusSubject(key: { publicKey: KeyObject; privateKey: KeyObject }): Uint8Array {
  const info = sequence(smallInteger(0), sequence(smallInteger(1)), new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' })), tlv(0xa0));
  const algorithm = sequence(oid('1.2.840.113549.1.1.11'), derNull());
  return sequence(info, algorithm, bitString(sign('sha256', info, key.privateKey)));
}

describe('a request whose subject is no X.509 Name', () => {
  it('is refused as an invalid request (Invalid CSR at 2.1, Invalid Field at 1.4), nothing stored', async () => {
    const subject = await registerSubject();
    const csr = pkcs10(csrWithBogusSubject(subject));
    for (const version of VERSIONS) {
      const r = await run(Operation.Certify, version, { uid: subject.pubUid, csr, issuer: ca.certUid });
      expect(r.resultReason, r.resultMessage).toBe(version >= 20 ? ResultReason.InvalidCSR : ResultReason.InvalidField);
      expect(r.resultMessage).toMatch(/readable X\.509 certificate/);
    }
    expect(await links(subject.pubUid)).toEqual([]);
  });
});

// ---------------------------------------------------------------- validity

describe('validity of an issued certificate', () => {
  it('starts no earlier than its CA: a CA made a minute ago bounds the five minutes of backdating', async () => {
    const young = issueCertificate({ commonName: 'Young CA', isCa: true, rsaBits: 2048, notBefore: new Date(Date.now() - 60_000) });
    const youngCa = await registerCa({ certificatePem: young.certificatePem, privateKey: createPrivateKey(young.privateKeyPem) });
    const subject = await registerSubject();
    const cert = await certificate(await issued(Operation.Certify, 21, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: youngCa.certUid }));
    expectIssuedBy(cert, youngCa);
    expect(Date.parse(cert.validFrom)).toBe(Date.parse(youngCa.x509.validFrom));
  });

  it('is backdated five minutes under an older CA', async () => {
    const subject = await registerSubject();
    const before = nowSeconds();
    const cert = await certificate(await issued(Operation.Certify, 21, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid }));
    const from = Date.parse(cert.validFrom) / 1000;
    expect(from).toBeGreaterThanOrEqual(before - 300);
    expect(from).toBeLessThanOrEqual(nowSeconds() - 300);
  });
});

// ---------------------------------------------------------------- Templates (1.x)

describe('Certify and Re-certify at 1.4 take Templates, as 1.4 §4.7–4.8 allow', () => {
  async function newTemplate(name: string, attributes: TtlvItem[]): Promise<void> {
    const r = await h.run(
      [{ operation: Operation.Register, payload: s(Tag.RequestPayload, [e(Tag.ObjectType, ObjectType.Template), s(Tag.TemplateAttribute, [attr('Name', name14(name))]), s(Tag.Template, attributes)]) }],
      { version: 14 },
    );
    expect(r.items[0]!.resultStatus, r.items[0]!.resultMessage).toBe(ResultStatus.Success);
  }

  it('gives the new certificate the attributes of the Template a Template-Attribute names', async () => {
    const suffix = Math.random().toString(36).slice(2);
    await newTemplate(`cert-template-${suffix}`, [attr('Object Group', t(Tag.AttributeValue, `from-template-${suffix}`)), attr('Contact Information', t(Tag.AttributeValue, 'pki-team'))]);
    const subject = await registerSubject();
    const certUid = await issued(Operation.Certify, 14, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid, attributes: [nameItem(`cert-template-${suffix}`)] });
    const a = await attributes(certUid);
    expect(first(a, 'Object Group')).toBe(`from-template-${suffix}`);
    expect(first(a, 'Contact Information')).toBe('pki-team');
    expectIssuedBy(await certificate(certUid), ca);

    // The request's own attribute wins over the Template's (1.4 §4).
    const renewed = await issued(Operation.ReCertify, 14, { uid: certUid, attributes: [nameItem(`cert-template-${suffix}`), attr('Contact Information', t(Tag.AttributeValue, 'renewals'))] });
    const r = await attributes(renewed);
    expect(first(r, 'Object Group')).toBe(`from-template-${suffix}`);
    expect(first(r, 'Contact Information')).toBe('renewals');
    // A Template not there is Item Not Found (1.4 §11.7).
    expect((await run(Operation.Certify, 14, { uid: subject.pubUid, csr: pkcs10(forgeCsr(subject).der), issuer: ca.certUid, attributes: [nameItem(`no-such-template-${suffix}`)] })).resultReason).toBe(ResultReason.ItemNotFound);
  });
});
