import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AssetType, TerraformAsset } from 'cdktf';
import { Construct } from 'constructs';
import { CosBucket } from '../../.gen/providers/ibm/cos-bucket/index.js';
import { CosBucketObject } from '../../.gen/providers/ibm/cos-bucket-object/index.js';
import { IamAuthorizationPolicy } from '../../.gen/providers/ibm/iam-authorization-policy/index.js';
import { ResourceInstance } from '../../.gen/providers/ibm/resource-instance/index.js';
import { Sleep } from '../../.gen/providers/time/sleep/index.js';
import { AUTHORIZATION_SETTLE } from '../shared/authorization-settle.js';
import { ModuleValidationError } from '../shared/errors.js';
import { matches } from '../shared/validate.js';

export interface AssetFile {
  /** Local file, read at synth time to pin its SHA-256. */
  readonly file: string;
  /** The name the object gets after its hash. @default the file's base name */
  readonly name?: string;
}

export interface UploadedAsset {
  /** Content-addressed object key: "<sha256>/<name>". */
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
  /**
   * Every file any node may fetch: the current ones and those of the releases nodes still run (see
   * stacks/releases.ts). The same content listed twice is uploaded once.
   */
  readonly files: readonly AssetFile[];
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * A private Object Storage bucket holding what does not fit in user data (the server bundle, TLS material),
 * each object named after its SHA-256 so a changed file is a new object and a node can verify what it got.
 * Objects are uploaded from the synthesized stack's asset folder (`content_file`), so file contents are
 * neither in cdk.tf.json nor in the Terraform state. An object's construct id is derived from its key, so the
 * same content keeps its Terraform address whatever role or order it has (two addresses for one key would let
 * Terraform delete the object right after uploading it again).
 */
export class AssetBucket extends Construct {
  readonly instance?: ResourceInstance;
  readonly bucket: CosBucket;
  readonly authorization?: IamAuthorizationPolicy;
  readonly authorizationSettled?: Sleep;
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
      this.authorizationSettled = new Sleep(this, 'AuthorizationSettled', {
        createDuration: AUTHORIZATION_SETTLE,
        triggers: { authorization: this.authorization.id },
        dependsOn: [this.authorization],
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
      ...(this.authorizationSettled ? { dependsOn: [this.authorizationSettled] } : {}),
    });
    this.bucketName = props.bucketName;

    const assets: Record<string, UploadedAsset> = {};
    for (const f of props.files) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(f.file);
      } catch (err) {
        throw new ModuleValidationError(`cannot read asset ${f.file}: ${(err as Error).message}`, this);
      }
      const name = f.name ?? basename(f.file);
      matches(this, 'files[].name', name, /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a file name of letters, digits, dot, dash, underscore');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = `${sha256}/${name}`;
      if (assets[key]) continue;
      const cid = `${sha256.slice(0, 16)}-${name}`;
      const local = new TerraformAsset(this, `File-${cid}`, { path: f.file, type: AssetType.FILE });
      const object = new CosBucketObject(this, `Object-${cid}`, {
        bucketCrn: this.bucket.crn,
        bucketLocation: props.region,
        key,
        contentFile: local.path,
        endpointType: 'public',
        forceDelete: true,
      });
      assets[key] = { key, sha256, bytes: bytes.length, object };
    }
    this.assets = assets;
  }

  /** The uploaded object holding `sha256` (under `name`). */
  asset(sha256: string, name: string): UploadedAsset {
    const a = this.assets[`${sha256}/${name}`];
    if (!a) throw new ModuleValidationError(`no asset ${sha256}/${name}`, this);
    return a;
  }
}
