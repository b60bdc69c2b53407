/**
 * The finite fields of the split-key methods (1.4 §2.2.5, 2.1 §13.1): GF(2^8) as in FIPS 197 (the
 * AES field, x^8+x^4+x^3+x+1), and GF(2^16) as its quadratic extension GF(2^8)[y]/(y^2+y+m) with
 * m = 0x3A. A GF(2^16) element uy+v is the number (u << 8) | v, so its two bytes in a share read u, v.
 *
 * Multiplication works bit by bit instead of through log/exp tables: table lookups indexed by key
 * bytes are the classic cache-timing leak, and key material is all this arithmetic ever sees.
 */

/** x^8+x^4+x^3+x+1 (FIPS 197 §4.2). 2.1 §13.1 prints 0x11D next to the same FIPS 197 reference; 1.4 and FIPS 197 say this. */
const AES_POLYNOMIAL = 0x11b;
/** m in y^2+y+m, the element x^5+x^4+x^3+x of GF(2^8). */
const M = 0x3a;

export function gf256Mul(a: number, b: number): number {
  let product = 0;
  for (let bit = 0; bit < 8; bit++) {
    product ^= -(b & 1) & a;
    a = (a << 1) ^ (-((a >> 7) & 1) & AES_POLYNOMIAL);
    b >>= 1;
  }
  return product & 0xff;
}

/** a^254, the inverse of a non-zero a (0 for 0); the same squarings and products whatever a is. */
export function gf256Inv(a: number): number {
  let result = 1;
  let power = a;
  // 254 = 0b11111110: multiply in a^2, a^4, …, a^128.
  for (let bit = 1; bit < 8; bit++) {
    power = gf256Mul(power, power);
    result = gf256Mul(result, power);
  }
  return result;
}

/**
 * (ry+s)(uy+v) = (ru + rv + su)y + (ru·m + sv), from y^2 = y + m. The spec prints the constant term
 * as "ru + svm", which contradicts its own inverse formula below; this one agrees with it.
 */
export function gf65536Mul(a: number, b: number): number {
  const r = a >> 8;
  const s = a & 0xff;
  const u = b >> 8;
  const v = b & 0xff;
  const sv = gf256Mul(s, v);
  const ru = gf256Mul(r, u);
  const high = gf256Mul(r ^ s, u ^ v) ^ sv;
  const low = gf256Mul(ru, M) ^ sv;
  return (high << 8) | low;
}

/** (uy+v)^-1 = u·d^-1·y + (u+v)·d^-1 with d = (u+v)v + m·u^2 (1.4 §2.2.5). */
export function gf65536Inv(a: number): number {
  const u = a >> 8;
  const v = a & 0xff;
  const d = gf256Mul(u ^ v, v) ^ gf256Mul(M, gf256Mul(u, u));
  const dInv = gf256Inv(d);
  return (gf256Mul(u, dInv) << 8) | gf256Mul(u ^ v, dInv);
}
