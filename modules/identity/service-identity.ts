import { Construct } from 'constructs';
import { IamTrustedProfile } from '../../.gen/providers/ibm/iam-trusted-profile/index.js';
import { IamTrustedProfilePolicy } from '../../.gen/providers/ibm/iam-trusted-profile-policy/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { matches, oneOf } from '../shared/validate.js';

/**
 * Key Protect service roles the server's identity may hold (additive). The server only calls wrap, unwrap,
 * rewrap and key metadata on the root key, which **Reader** allows (Key Protect "manage access" role table);
 * the retired IBM service used Writer (2018) and later Manager because it stored every vCenter key as a Key
 * Protect standard key and deleted it on KMIP Destroy. Writer or Manager would let a stolen node credential
 * rotate, disable or delete the root key — choose them only for a reason you can name.
 */
export const KEY_PROTECT_ROLES = ['Reader', 'ReaderPlus', 'Writer', 'Manager'] as const;
export type KeyProtectRole = (typeof KEY_PROTECT_ROLES)[number];

/** How much of the Key Protect instance the policy covers. */
export const POLICY_SCOPES = ['key', 'key-ring', 'instance'] as const;
export type PolicyScope = (typeof POLICY_SCOPES)[number];

export interface ServiceIdentityProps {
  /** Trusted profile name, e.g. "kmip-prod-us-south". */
  readonly name: string;
  /** @default "KMIP server nodes (kmip-for-vmware)" */
  readonly description?: string;
  /** GUID of the Key Protect instance (may be a token). */
  readonly keyProtectInstanceGuid: string;
  /**
   * Key Protect service role granted with platform Viewer.
   * @default "Reader" — enough for wrap/unwrap/rewrap, nothing that changes or deletes keys
   */
  readonly keyProtectRole?: KeyProtectRole;
  /**
   * "key": only the root key (needs `rootKeyId`); "key-ring": every key of `keyRingId`; "instance": the
   * whole instance.
   * @default "key"
   */
  readonly scope?: PolicyScope;
  /** Root key id (may be a token); required for scope "key". */
  readonly rootKeyId?: string;
  /** Key ring id; required for scope "key-ring". */
  readonly keyRingId?: string;
  /** The bucket the nodes read their assets from: the identity gets "Object Reader" on it, nothing more. */
  readonly assetBucket?: { readonly cosInstanceGuid: string; readonly bucketName: string };
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * The identity the KMIP servers run as: an IAM trusted profile (compute resource identity) and its policies
 * (platform Viewer plus a Key Protect service role on the root key, Object Reader on the asset bucket). Each
 * node is created with the profile as its default trusted profile, linked by the VPC service at creation, and
 * gets IAM tokens from its instance metadata service: no API key exists, in user data, state or anywhere.
 */
export class ServiceIdentity extends Construct {
  readonly profile: IamTrustedProfile;
  readonly keyProtectPolicy: IamTrustedProfilePolicy;
  readonly assetPolicy?: IamTrustedProfilePolicy;
  readonly keyProtectRole: KeyProtectRole;

  constructor(scope: Construct, id: string, props: ServiceIdentityProps) {
    super(scope, id);
    const role = props.keyProtectRole ?? 'Reader';
    const policyScope = props.scope ?? 'key';
    oneOf(this, 'keyProtectRole', role, KEY_PROTECT_ROLES);
    oneOf(this, 'scope', policyScope, POLICY_SCOPES);
    matches(this, 'name', props.name, /^[a-z][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes (2-63)');
    if (policyScope === 'key' && !props.rootKeyId) throw new ModuleValidationError('scope "key" needs rootKeyId', this);
    if (policyScope === 'key-ring' && !props.keyRingId) throw new ModuleValidationError('scope "key-ring" needs keyRingId', this);
    this.keyProtectRole = role;
    const tags = props.tags ? [...props.tags] : undefined;

    this.profile = new IamTrustedProfile(this, 'Resource', {
      name: props.name,
      description: props.description ?? 'KMIP server nodes (kmip-for-vmware): the virtual servers of the stack run as this profile',
    });

    const kms = { service: 'kms', resourceInstanceId: props.keyProtectInstanceGuid };
    this.keyProtectPolicy = new IamTrustedProfilePolicy(this, 'KeyProtectPolicy', {
      iamId: this.profile.iamId,
      roles: ['Viewer', role],
      ...(tags ? { tags } : {}),
      description: `KMIP servers: ${role} on the ${policyScope === 'instance' ? 'Key Protect instance' : policyScope === 'key-ring' ? 'key ring' : 'root key'} (wrap/unwrap)`,
      resources:
        policyScope === 'key'
          ? { ...kms, resourceType: 'key', resource: props.rootKeyId! }
          : policyScope === 'key-ring'
            ? { ...kms, attributes: { keyRing: props.keyRingId! } }
            : kms,
    });

    if (props.assetBucket) {
      this.assetPolicy = new IamTrustedProfilePolicy(this, 'AssetBucketPolicy', {
        iamId: this.profile.iamId,
        roles: ['Object Reader'],
        ...(tags ? { tags } : {}),
        description: 'KMIP servers: read the server bundle and TLS material from the asset bucket',
        resources: {
          service: 'cloud-object-storage',
          resourceInstanceId: props.assetBucket.cosInstanceGuid,
          resourceType: 'bucket',
          resource: props.assetBucket.bucketName,
        },
      });
    }

  }

  /** The profile id (a token) the nodes ask their metadata service for tokens of. */
  get profileId(): string {
    return this.profile.id;
  }
}
