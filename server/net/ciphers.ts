/**
 * TLS 1.3 suites, then ECDHE-GCM, then the two suites of the KMIP TLS 1.2 Authentication Suite
 * (TLS_RSA_WITH_AES_{128,256}_CBC_SHA256), which vCenter 7.0.3 negotiates with an RSA server key.
 */
export const KMIP_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'AES256-SHA256',
  'AES128-SHA256',
].join(':');
