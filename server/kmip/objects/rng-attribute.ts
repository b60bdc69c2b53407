/**
 * The Random Number Generator attribute (1.3+) of the objects this server generates. Key material
 * comes from node:crypto (randomFillSync for symmetric keys, generateKeyPair for key pairs), which
 * draws on OpenSSL 3's default DRBG: the SP 800-90A CTR_DRBG over AES-256. No prediction resistance
 * is requested, so Prediction Resistance is left out rather than claimed either way.
 */
import { CryptographicAlgorithm, DRBGAlgorithm, RNGAlgorithm } from '../generated/enums.js';
import type { Attribute } from '../model/attributes.js';
import type { RNGParametersValue } from '../model/attribute-values.js';

const SERVER_RNG: RNGParametersValue = Object.freeze({
  rngAlgorithm: RNGAlgorithm.DRBG,
  drbgAlgorithm: DRBGAlgorithm.CTR,
  cryptographicAlgorithm: CryptographicAlgorithm.AES,
  cryptographicLength: 256,
});

/** The attribute recording that the server's DRBG made an object's material. */
export function serverRngAttribute(): Attribute {
  return { name: 'Random Number Generator', index: 0, value: SERVER_RNG };
}
