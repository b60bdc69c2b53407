import { activate } from './activate.js';
import { check } from './check.js';
import { createKeyPair } from './create-key-pair.js';
import { decrypt } from './decrypt.js';
import { deriveKey } from './derive-key.js';
import { encrypt } from './encrypt.js';
import { hash } from './hash.js';
import { mac } from './mac.js';
import { macVerify } from './mac-verify.js';
import { rngRetrieve, rngSeed } from './rng.js';
import { sign } from './sign.js';
import { signatureVerify } from './signature-verify.js';
import { getUsageAllocation } from './get-usage-allocation.js';
import { interop, log } from './interop-log.js';
import { obtainLease } from './lease.js';
import { register } from './register.js';
import { rekey } from './rekey.js';
import { rekeyKeyPair } from './rekey-key-pair.js';
import { setAttribute } from './set-attribute.js';
import { addAttribute } from './add-attribute.js';
import { create } from './create.js';
import { deleteAttribute } from './delete-attribute.js';
import { destroy } from './destroy.js';
import { discoverVersions } from './discover-versions.js';
import { get } from './get.js';
import { getAttributeList } from './get-attribute-list.js';
import { getAttributes } from './get-attributes.js';
import { locate } from './locate.js';
import { modifyAttribute } from './modify-attribute.js';
import { query } from './query.js';
import { revoke } from './revoke.js';
import type { OperationHandler } from './types.js';

/** Every operation the server offers, listed explicitly (no registration by import side effects). */
export const OPERATIONS: readonly OperationHandler[] = [
  create,
  createKeyPair,
  register,
  rekey,
  rekeyKeyPair,
  deriveKey,
  locate,
  check,
  get,
  getAttributes,
  getAttributeList,
  addAttribute,
  setAttribute,
  modifyAttribute,
  deleteAttribute,
  obtainLease,
  getUsageAllocation,
  activate,
  revoke,
  destroy,
  encrypt,
  decrypt,
  sign,
  signatureVerify,
  mac,
  macVerify,
  hash,
  rngRetrieve,
  rngSeed,
  query,
  discoverVersions,
  log,
  interop,
];

export type { OperationHandler } from './types.js';
