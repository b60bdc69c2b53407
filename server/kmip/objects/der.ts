/**
 * Just enough DER to find the raw Name and serial number fields of an X.509 certificate, which
 * the X.509 Certificate Identifier/Subject/Issuer attributes carry as DER bytes and node's
 * X509Certificate does not expose. Bounds-checked; malformed input throws.
 */
export interface DerElement {
  readonly tag: number;
  /** The whole element, header included. */
  readonly raw: Uint8Array;
  /** The contents only. */
  readonly body: Uint8Array;
}

export function readDer(buf: Uint8Array, at = 0): { element: DerElement; next: number } {
  if (at + 2 > buf.length) throw new Error('DER: truncated header');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not used in certificates');
  let len = buf[at + 1]!;
  let offset = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (count === 0 || count > 4 || offset + count > buf.length) throw new Error('DER: bad length');
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + buf[offset + i]!;
    offset += count;
  }
  const end = offset + len;
  if (end > buf.length) throw new Error('DER: element runs past its container');
  return { element: { tag, raw: buf.subarray(at, end), body: buf.subarray(offset, end) }, next: end };
}

export function children(parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = 0; at < parent.body.length; ) {
    const { element, next } = readDer(parent.body, at);
    out.push(element);
    at = next;
    if (out.length > 64) throw new Error('DER: too many elements');
  }
  return out;
}

/** Serial number, issuer and subject of a certificate, as DER. */
export function certificateNames(der: Uint8Array): { serial: Uint8Array; issuer: Uint8Array; subject: Uint8Array } {
  const { element: cert } = readDer(der);
  const tbs = children(cert)[0];
  if (!tbs || tbs.tag !== 0x30) throw new Error('DER: no TBSCertificate');
  const fields = children(tbs);
  // An explicit [0] version comes first when present (v2, v3 certificates).
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[i];
  const issuer = fields[i + 2];
  const subject = fields[i + 4];
  if (serial?.tag !== 0x02 || issuer?.tag !== 0x30 || subject?.tag !== 0x30) throw new Error('DER: unexpected TBSCertificate layout');
  return { serial: serial.body, issuer: issuer.raw, subject: subject.raw };
}
