import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { CosBucket } from '../../.gen/providers/ibm/cos-bucket/index.js';
import { CosBucketObject } from '../../.gen/providers/ibm/cos-bucket-object/index.js';
import { IamAuthorizationPolicy } from '../../.gen/providers/ibm/iam-authorization-policy/index.js';
import { ResourceInstance } from '../../.gen/providers/ibm/resource-instance/index.js';
import { ModuleValidationError } from '../shared/errors.js';
import { matches } from '../shared/validate.js';

export interface AssetFile {
  /** Stable id (construct id and part of the object key), e.g. "bundle", "tls-us-south-1-key". */
  readonly id: string;
  /** Local file, read at synth time to pin its SHA-256. */
  readonly file: string;
}

export interface UploadedAsset {
  readonly id: string;
  /** Content-addressed object key: "<sha256>/<file name>". */
  readonly key: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly object: CosBucketObject;
}

export interface AssetBucketProps {
  readonly region: string;
  readonly resourceGroupId: string;
  /** Globally unique bucket name (3-63: lower-case letters, digits, dashes). */
  readonly bucketName: string;
  /** Name of the Object Storage instance when one is created. */
  readonly instanceName: string;
  /** CRN of an existing Object Storage instance. @default a new "standard" instance */
  readonly existingInstanceCrn?: string;
  /**
   * Encrypt the bucket with the customer root key; creates the service-to-service authorization (Object
   * Storage → Key Protect, Reader).
   */
  readonly rootKey?: { readonly keyProtectInstanceGuid: string; readonly rootKeyCrn: string };
  readonly files: readonly AssetFile[];
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * A private Object Storage bucket holding what does not fit in user data (the server bundle, TLS material),
 * each object named after its SHA-256 so a changed file is a new object and a node can verify what it got.
 * Objects are uploaded from the synthesized stack's asset folder (`content_file`), so file contents are
 * neither in cdk.tf.json nor in the Terraform state.
 */
export class AssetBucket extends Construct {
  readonly instance?: ResourceInstance;
  readonly bucket: CosBucket;
  readonly authorization?: IamAuthorizationPolicy;
  readonly cosInstanceGuid: string;
  readonly bucketName: string;
  readonly assets: Readonly<Record<string, UploadedAsset>>;

  constructor(scope: Construct, id: string, props: AssetBucketProps) {
    super(scope, id);
    matches(this, 'bucketName', props.bucketName, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'a bucket name (3-63 lower-case letters, digits and dashes)');
    const tags = props.tags ? [...props.tags] : undefined;
    let instanceId: string;
    if (props.existingInstanceCrn) {
      const parts = props.existingInstanceCrn.split(':');
      if (parts.length !== 10 || parts[4] !== 'cloud-object-storage') throw new ModuleValidationError(`existingInstanceCrn is not an Object Storage instance CRN: ${props.existingInstanceCrn}`, this);
      this.cosInstanceGuid = parts[7]!;
      instanceId = props.existingInstanceCrn;
    } else {
      this.instance = new ResourceInstance(this, 'Instance', {
        name: props.instanceName,
        service: 'cloud-object-storage',
        plan: 'standard',
        location: 'global',
        resourceGroupId: props.resourceGroupId,
        ...(tags ? { tags } : {}),
      });
      this.cosInstanceGuid = this.instance.guid;
      instanceId = this.instance.id;
    }

    if (props.rootKey) {
      this.authorization = new IamAuthorizationPolicy(this, 'KeyProtectAuthorization', {
        sourceServiceName: 'cloud-object-storage',
        sourceResourceInstanceId: this.cosInstanceGuid,
        targetServiceName: 'kms',
        targetResourceInstanceId: props.rootKey.keyProtectInstanceGuid,
        roles: ['Reader'],
        description: 'Object Storage encrypts the KMIP asset bucket with the customer root key',
      });
    }

    this.bucket = new CosBucket(this, 'Resource', {
      bucketName: props.bucketName,
      resourceInstanceId: instanceId,
      regionLocation: props.region,
      storageClass: 'standard',
      endpointType: 'public',
      forceDelete: true,
      ...(props.rootKey ? { kmsKeyCrn: props.rootKey.rootKeyCrn } : {}),
      ...(this.authorization ? { dependsOn: [this.authorization] } : {}),
    });
    this.bucketName = props.bucketName;

    const ids = new Set<string>();
    const assets: Record<string, UploadedAsset> = {};
    for (const f of props.files) {
      matches(this, 'files[].id', f.id, /^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');
      if (ids.has(f.id)) throw new ModuleValidationError(`asset id ${f.id} is used twice`, this);
      ids.add(f.id);
      let bytes: Buffer;
      try {
        bytes = readFileSync(f.file);
      } catch (err) {
        throw new ModuleValidationError(`asset ${f.id}: cannot read ${f.file}: ${(err as Error).message}`, this);
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = `${sha256}/${basename(f.file)}`;
      const local = new TerraformAsset(this, `File-${f.id}`, { path: f.file, type: AssetType.FILE });
      const object = new CosBucketObject(this, `Object-${f.id}`, {
        bucketCrn: this.bucket.crn,
        bucketLocation: props.region,
        key,
        contentFile: local.path,
        endpointType: 'public',
        forceDelete: true,
      });
      assets[f.id] = { id: f.id, key, sha256, bytes: bytes.length, object };
    }
    this.assets = assets;
  }

  asset(id: string): UploadedAsset {
    const a = this.assets[id];
    if (!a) throw new ModuleValidationError(`no asset ${id}`, this);
    return a;
  }
}
