/**
 * PKCS#11 as the KMIP PKCS#11 operation names it. KMIP gives these enumerations no table of their own
 * (2.1 §11.38, §11.39): a function is its 1-based place in PKCS#11 v3.0's CK_FUNCTION_LIST_3_0 after
 * the version field, and a return code is the CK_RV value itself.
 */

/** CK_FUNCTION_LIST_3_0 in order (the first 68 are the whole v2.40 list, then the v3.0 additions). */
const CK_FUNCTIONS = [
  'C_Initialize',
  'C_Finalize',
  'C_GetInfo',
  'C_GetFunctionList',
  'C_GetSlotList',
  'C_GetSlotInfo',
  'C_GetTokenInfo',
  'C_GetMechanismList',
  'C_GetMechanismInfo',
  'C_InitToken',
  'C_InitPIN',
  'C_SetPIN',
  'C_OpenSession',
  'C_CloseSession',
  'C_CloseAllSessions',
  'C_GetSessionInfo',
  'C_GetOperationState',
  'C_SetOperationState',
  'C_Login',
  'C_Logout',
  'C_CreateObject',
  'C_CopyObject',
  'C_DestroyObject',
  'C_GetObjectSize',
  'C_GetAttributeValue',
  'C_SetAttributeValue',
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
  'C_EncryptInit',
  'C_Encrypt',
  'C_EncryptUpdate',
  'C_EncryptFinal',
  'C_DecryptInit',
  'C_Decrypt',
  'C_DecryptUpdate',
  'C_DecryptFinal',
  'C_DigestInit',
  'C_Digest',
  'C_DigestUpdate',
  'C_DigestKey',
  'C_DigestFinal',
  'C_SignInit',
  'C_Sign',
  'C_SignUpdate',
  'C_SignFinal',
  'C_SignRecoverInit',
  'C_SignRecover',
  'C_VerifyInit',
  'C_Verify',
  'C_VerifyUpdate',
  'C_VerifyFinal',
  'C_VerifyRecoverInit',
  'C_VerifyRecover',
  'C_DigestEncryptUpdate',
  'C_DecryptDigestUpdate',
  'C_SignEncryptUpdate',
  'C_DecryptVerifyUpdate',
  'C_GenerateKey',
  'C_GenerateKeyPair',
  'C_WrapKey',
  'C_UnwrapKey',
  'C_DeriveKey',
  'C_SeedRandom',
  'C_GenerateRandom',
  'C_GetFunctionStatus',
  'C_CancelFunction',
  'C_WaitForSlotEvent',
  'C_GetInterfaceList',
  'C_GetInterface',
  'C_LoginUser',
  'C_SessionCancel',
  'C_MessageEncryptInit',
  'C_EncryptMessage',
  'C_EncryptMessageBegin',
  'C_EncryptMessageNext',
  'C_MessageEncryptFinal',
  'C_MessageDecryptInit',
  'C_DecryptMessage',
  'C_DecryptMessageBegin',
  'C_DecryptMessageNext',
  'C_MessageDecryptFinal',
  'C_MessageSignInit',
  'C_SignMessage',
  'C_SignMessageBegin',
  'C_SignMessageNext',
  'C_MessageSignFinal',
  'C_MessageVerifyInit',
  'C_VerifyMessage',
  'C_VerifyMessageBegin',
  'C_VerifyMessageNext',
  'C_MessageVerifyFinal',
] as const;

export type CkFunctionName = (typeof CK_FUNCTIONS)[number];

/** The function an enumeration value names, or undefined when it names none. */
export function ckFunctionName(value: number): CkFunctionName | undefined {
  return Number.isInteger(value) && value >= 1 ? CK_FUNCTIONS[value - 1] : undefined;
}

export function ckFunctionValue(name: CkFunctionName): number {
  return CK_FUNCTIONS.indexOf(name) + 1;
}

/** The CK_RV values this module answers with (PKCS#11 v3.0 pkcs11t.h). */
export const CKR = Object.freeze({
  OK: 0x00,
  HOST_MEMORY: 0x02,
  FUNCTION_NOT_SUPPORTED: 0x54,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
});

const CKR_NAMES = new Map<number, string>(Object.entries(CKR).map(([name, value]) => [value, `CKR_${name}`]));

/** For the audit line: CKR_OK, CKR_FUNCTION_NOT_SUPPORTED… */
export function ckrName(rv: number): string {
  return CKR_NAMES.get(rv) ?? `CK_RV 0x${rv.toString(16)}`;
}
