import { Construct } from 'constructs';
import { KmsKey } from '../../.gen/providers/ibm/kms-key/index.js';
import { KmsKeyPolicies } from '../../.gen/providers/ibm/kms-key-policies/index.js';
import { KmsKeyRings } from '../../.gen/providers/ibm/kms-key-rings/index.js';
import { ResourceInstance } from '../../.gen/providers/ibm/resource-instance/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { UUID, intInRange, matches, oneOf } from '../shared/validate.js';
import { keyProtectInstanceGuid } from './plan-crn.js';

export const KEY_PROTECT_PLANS = ['tiered-pricing', 'cross-region-resiliency'] as const;
export type KeyProtectPlan = (typeof KEY_PROTECT_PLANS)[number];
export const ALLOWED_NETWORKS = ['public-and-private', 'private-only'] as const;
export type AllowedNetwork = (typeof ALLOWED_NETWORKS)[number];

export interface NewKeyProtectInstance {
  readonly create: true;
  /** @default "tiered-pricing" */
  readonly plan?: KeyProtectPlan;
  /**
   * "private-only" refuses every call that does not come over IBM Cloud's private network — then Terraform
   * itself must run inside it (a VPC runner, Schematics) and `managementEndpoint` must be "private".
   * @default "public-and-private"
   */
  readonly allowedNetwork?: AllowedNetwork;
}

export interface ExistingKeyProtectInstance {
  /** CRN of a Key Protect instance in the stack's region. */
  readonly existingCrn: string;
}

export type RootKeySource =
  | {
      /** Key Protect generates the material in its HSMs. */
      readonly source: 'generate';
      readonly name: string;
    }
  | {
      /**
       * Key Protect imports material you provide (and keep a backup of, as IBM's KMIP-for-VMware guidance
       * advised) by secure import: `payload` is the material encrypted under a Key Protect import token's public
       * key, `encryptedNonce` and `iv` prove it (kmipctl keyprotect import-prepare makes all three). Pass
       * sensitive Terraform variables, never literals: the plaintext material never reaches Terraform.
       */
      readonly source: 'import';
      readonly name: string;
      readonly payload: string;
      readonly encryptedNonce: string;
      readonly iv: string;
    }
  | {
      /** A root key that already exists in the (existing) instance. */
      readonly source: 'existing';
      readonly id: string;
    };

export interface KeyProtectProps {
  readonly region: string;
  readonly resourceGroupId: string;
  /** Name of a new instance and prefix of other names. */
  readonly name: string;
  readonly instance: NewKeyProtectInstance | ExistingKeyProtectInstance;
  /** Key ring for the root key; created unless `create` is false. @default the instance's "default" ring */
  readonly keyRing?: { readonly id: string; readonly create?: boolean };
  readonly rootKey: RootKeySource;
  /** Automatic rotation of a generated root key, every n months (1-12). @default no rotation policy */
  readonly rotationMonths?: number;
  /**
   * Dual authorization for deleting the root key (two administrators). Irreversible once set on a key, and
   * it also makes `terraform destroy` of the key need a second approval.
   * @default false
   */
  readonly dualAuthDelete?: boolean;
  /** Terraform `prevent_destroy` on the instance and the root key. @default true */
  readonly preventDestroy?: boolean;
  /** Endpoint the provider uses to manage keys (not the one the servers use). @default "public" */
  readonly managementEndpoint?: 'public' | 'private';
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * The customer root key (CRK) in IBM Key Protect that wraps every key the KMIP servers hand out: a new
 * instance or an existing one, a key ring, the root key (generated, imported or existing) and its policies.
 * Everything that would lose keys if destroyed carries Terraform's `prevent_destroy` unless the teardown
 * flow turns `preventDestroy` off.
 */
export class KeyProtect extends Construct {
  readonly instance?: ResourceInstance;
  readonly keyRing?: KmsKeyRings;
  readonly rootKey?: KmsKey;
  readonly policies?: KmsKeyPolicies;
  /** Instance GUID (token when the instance is new). */
  readonly instanceGuid: string;
  /** Instance CRN (token when the instance is new). */
  readonly instanceCrn: string;
  /** Root key id (token unless the key already exists). */
  readonly rootKeyId: string;
  /** Root key CRN, when the stack manages the key. */
  readonly rootKeyCrn?: string;
  readonly keyRingId?: string;

  constructor(scope: Construct, id: string, props: KeyProtectProps) {
    super(scope, id);
    const preventDestroy = props.preventDestroy ?? true;
    const endpointType = props.managementEndpoint ?? 'public';
    oneOf(this, 'managementEndpoint', endpointType, ['public', 'private']);
    intInRange(this, 'rotationMonths', props.rotationMonths, 1, 12);
    const lifecycle = preventDestroy ? { lifecycle: { preventDestroy: true } } : {};
    const tags = props.tags ? [...props.tags] : undefined;

    if ('create' in props.instance) {
      const plan = props.instance.plan ?? 'tiered-pricing';
      const allowedNetwork = props.instance.allowedNetwork ?? 'public-and-private';
      oneOf(this, 'instance.plan', plan, KEY_PROTECT_PLANS);
      oneOf(this, 'instance.allowedNetwork', allowedNetwork, ALLOWED_NETWORKS);
      if (allowedNetwork === 'private-only' && endpointType !== 'private') {
        throw new ModuleValidationError('a private-only instance can only be managed over the private endpoint: set managementEndpoint to "private"', this);
      }
      this.instance = new ResourceInstance(this, 'Resource', {
        name: props.name,
        service: 'kms',
        plan,
        location: props.region,
        resourceGroupId: props.resourceGroupId,
        parameters: { allowed_network: allowedNetwork },
        ...(tags ? { tags } : {}),
        ...lifecycle,
      });
      this.instanceGuid = this.instance.guid;
      this.instanceCrn = this.instance.crn;
    } else {
      try {
        this.instanceGuid = keyProtectInstanceGuid(props.instance.existingCrn, props.region);
      } catch (err) {
        throw new ModuleValidationError((err as Error).message, this);
      }
      this.instanceCrn = props.instance.existingCrn;
    }

    if (props.keyRing) {
      matches(this, 'keyRing.id', props.keyRing.id, /^[a-zA-Z0-9-]{2,100}$/, 'letters, digits and dashes (2-100)');
      if (props.keyRing.create !== false) {
        this.keyRing = new KmsKeyRings(this, 'KeyRing', { instanceId: this.instanceGuid, keyRingId: props.keyRing.id, endpointType });
        this.keyRingId = this.keyRing.keyRingId;
      } else {
        this.keyRingId = props.keyRing.id;
      }
    }

    const key = props.rootKey;
    if (key.source === 'existing') {
      if ('create' in props.instance) throw new ModuleValidationError('an existing root key lives in an existing instance: give instance.existingCrn', this);
      matches(this, 'rootKey.id', key.id, UUID, 'a Key Protect key id (UUID)');
      this.rootKeyId = key.id;
    } else {
      matches(this, 'rootKey.name', key.name, /^[a-zA-Z0-9][a-zA-Z0-9 _.-]{1,89}$/, 'a key name (2-90 characters, no personal data)');
      if (key.source === 'import' && props.rotationMonths !== undefined) {
        throw new ModuleValidationError('Key Protect rotates only keys it generated: an imported root key is rotated by importing new material, so rotationMonths must be unset', this);
      }
      this.rootKey = new KmsKey(this, 'RootKey', {
        instanceId: this.instanceGuid,
        keyName: key.name,
        standardKey: false,
        forceDelete: false,
        endpointType,
        description: 'Customer root key: wraps every key the KMIP servers hand out',
        ...(this.keyRingId ? { keyRingId: this.keyRingId } : {}),
        ...(key.source === 'import' ? { payload: key.payload, encryptedNonce: key.encryptedNonce, ivValue: key.iv } : {}),
        // The secure-import values are used once, at creation (the import token then expires), and Key Protect
        // does not return them: without this every later plan would replace (and, protected, refuse) the root key.
        ...(key.source === 'import' ? { lifecycle: { ...lifecycle.lifecycle, ignoreChanges: ['payload', 'encrypted_nonce', 'iv_value'] } } : lifecycle),
      });
      this.rootKeyId = this.rootKey.keyId;
      this.rootKeyCrn = this.rootKey.crn;
    }

    if (props.rotationMonths !== undefined || props.dualAuthDelete !== undefined) {
      this.policies = new KmsKeyPolicies(this, 'Policies', {
        instanceId: this.instanceGuid,
        keyId: this.rootKeyId,
        endpointType,
        ...(props.rotationMonths !== undefined ? { rotation: [{ enabled: true, intervalMonth: props.rotationMonths }] } : {}),
        ...(props.dualAuthDelete !== undefined ? { dualAuthDelete: [{ enabled: props.dualAuthDelete }] } : {}),
      });
    }
  }
}
