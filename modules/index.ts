// Re-exports only.
export * from './shared/errors.js';
export * from './shared/plan-names.js';
export * from './identity/service-identity.js';
export * from './key-protect/plan-crn.js';
export * from './key-protect/key-protect.js';
export * from './network/plan-subnets.js';
export * from './network/network.js';
export * from './database/database.js';
export * from './assets/asset-bucket.js';
export * from './kmip-cluster/plan-boot.js';
export * from './kmip-cluster/kmip-cluster.js';
