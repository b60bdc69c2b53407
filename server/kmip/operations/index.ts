import { activate } from './activate.js';
import { adjustAttribute } from './adjust-attribute.js';
import { archive, recover } from './archive.js';
import { check } from './check.js';
import { createKeyPair } from './create-key-pair.js';
import { decrypt } from './decrypt.js';
import { deriveKey } from './derive-key.js';
import { createSplitKey } from './create-split-key.js';
import { joinSplitKey } from './join-split-key.js';
import { encrypt } from './encrypt.js';
import { exportObject } from './export.js';
import { hash } from './hash.js';
import { importObject } from './import.js';
import { mac } from './mac.js';
import { macVerify } from './mac-verify.js';
import { rngRetrieve, rngSeed } from './rng.js';
import { sign } from './sign.js';
import { signatureVerify } from './signature-verify.js';
import { getUsageAllocation } from './get-usage-allocation.js';
import { interop, log } from './interop-log.js';
import { pkcs11 } from './pkcs11.js';
import { obtainLease } from './lease.js';
import { register } from './register.js';
import { rekey } from './rekey.js';
import { rekeyKeyPair } from './rekey-key-pair.js';
import { certify } from './certify.js';
import { recertify } from './recertify.js';
import { setAttribute } from './set-attribute.js';
import { setEndpointRole } from './set-endpoint-role.js';
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
import { cancel, poll } from './poll-cancel.js';
import { query } from './query.js';
import { revoke } from './revoke.js';
import type { OperationHandler } from './types.js';

/** Every operation the server offers, listed explicitly (no registration by import side effects). */
export const OPERATIONS: readonly OperationHandler[] = [
  create,
  createKeyPair,
  register,
  importObject,
  rekey,
  rekeyKeyPair,
  certify,
  recertify,
  deriveKey,
  createSplitKey,
  joinSplitKey,
  locate,
  check,
  get,
  exportObject,
  getAttributes,
  getAttributeList,
  addAttribute,
  setAttribute,
  modifyAttribute,
  adjustAttribute,
  deleteAttribute,
  obtainLease,
  getUsageAllocation,
  activate,
  revoke,
  destroy,
  archive,
  recover,
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
  poll,
  cancel,
  discoverVersions,
  setEndpointRole,
  log,
  interop,
  pkcs11,
];

export type { OperationHandler } from './types.js';
