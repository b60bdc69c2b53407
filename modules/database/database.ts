import { Construct } from 'constructs';
import { Database } from '../../.gen/providers/ibm/database/index.js';
import { IamAuthorizationPolicy } from '../../.gen/providers/ibm/iam-authorization-policy/index.js';
import { ResourceKey } from '../../.gen/providers/ibm/resource-key/index.js';
import { Fn } from 'cdktf';
import { Sleep } from '../../.gen/providers/time/sleep/index.js';
import { AUTHORIZATION_SETTLE } from '../shared/authorization-settle.js';
import { ModuleValidationError } from '../shared/errors.js';
import { intInRange, matches, oneOf } from '../shared/validate.js';

export const DATABASE_PLANS = ['standard', 'enterprise'] as const;
export type DatabasePlan = (typeof DATABASE_PLANS)[number];

export interface PostgresDatabaseProps {
  readonly name: string;
  readonly region: string;
  readonly resourceGroupId: string;
  /** @default "standard" */
  readonly plan?: DatabasePlan;
  /** PostgreSQL major version. @default "16" */
  readonly version?: string;
  /** RAM per member in MB. @default 4096 */
  readonly memoryMb?: number;
  /** Disk per member in MB. @default 10240 */
  readonly diskMb?: number;
  /** Dedicated cores per member (0 = shared). @default 0 */
  readonly cpuCount?: number;
  /** Only these networks may connect: the nodes' subnets and the operator networks (kmipctl, backups). */
  readonly allowlist: readonly { readonly address: string; readonly description: string }[];
  /**
   * Encrypt the database disks and its backups with the customer root key (BYOK, `key_protect_key` and
   * `backup_encryption_key_crn`): creates the service-to-service authorization (Databases for PostgreSQL →
   * Key Protect, Reader) and waits for it to take effect. Deleting the root key then also crypto-shreds the
   * database and its backups.
   */
  readonly rootKey?: { readonly keyProtectInstanceGuid: string; readonly rootKeyCrn: string };
  /**
   * Terraform's `lifecycle.prevent_destroy` and the provider's `deletion_protection` flag. Both are Terraform-side
   * only: the provider refuses to delete the database while the flag is true, but IBM Cloud itself does not
   * know it (the console, the CLI or the API can still delete the instance). @default true
   */
  readonly preventDestroy?: boolean;
  /** @default [] */
  readonly tags?: readonly string[];
}

/**
 * IBM Cloud Databases for PostgreSQL (multi-zone in a multi-zone region: its members are spread over the
 * zones by the service) on private endpoints only, reachable only from the listed networks, plus the service
 * credentials (a resource key) the nodes connect with. `url` and `caCertificateBase64` are sensitive tokens.
 */
export class PostgresDatabase extends Construct {
  readonly database: Database;
  readonly credentials: ResourceKey;
  readonly authorization?: IamAuthorizationPolicy;
  /** The pause after the authorization (see AUTHORIZATION_SETTLE). */
  readonly authorizationSettled?: Sleep;

  constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id);
    const plan = props.plan ?? 'standard';
    oneOf(this, 'plan', plan, DATABASE_PLANS);
    matches(this, 'version', props.version ?? '16', /^(1[3-9]|2[0-9])$/, 'a PostgreSQL major version (13 or later)');
    intInRange(this, 'memoryMb', props.memoryMb, 1024, 1_048_576);
    intInRange(this, 'diskMb', props.diskMb, 5120, 4_194_304);
    intInRange(this, 'cpuCount', props.cpuCount, 0, 64);
    if (props.allowlist.length === 0) throw new ModuleValidationError('allowlist must name the networks that may connect', this);
    // The provider refuses a description outside 1-32 characters at plan.
    for (const a of props.allowlist) matches(this, `allowlist[${a.address}].description`, a.description, /^.{1,32}$/, '1-32 characters');
    const preventDestroy = props.preventDestroy ?? true;
    const tags = props.tags ? [...props.tags] : undefined;

    if (props.rootKey) {
      this.authorization = new IamAuthorizationPolicy(this, 'KeyProtectAuthorization', {
        sourceServiceName: 'databases-for-postgresql',
        targetServiceName: 'kms',
        targetResourceInstanceId: props.rootKey.keyProtectInstanceGuid,
        roles: ['Reader'],
        description: 'Databases for PostgreSQL encrypts the KMIP database with the customer root key',
      });
      this.authorizationSettled = new Sleep(this, 'AuthorizationSettled', {
        createDuration: AUTHORIZATION_SETTLE,
        triggers: { authorization: this.authorization.id },
        dependsOn: [this.authorization],
      });
    }

    this.database = new Database(this, 'Resource', {
      name: props.name,
      service: 'databases-for-postgresql',
      plan,
      location: props.region,
      version: props.version ?? '16',
      resourceGroupId: props.resourceGroupId,
      serviceEndpoints: 'private',
      deletionProtection: preventDestroy,
      group: [
        {
          groupId: 'member',
          memory: { allocationMb: props.memoryMb ?? 4096 },
          disk: { allocationMb: props.diskMb ?? 10240 },
          ...(props.cpuCount ? { cpu: { allocationCount: props.cpuCount } } : {}),
        },
      ],
      allowlist: props.allowlist.map((a) => ({ address: a.address, description: a.description })),
      ...(props.rootKey ? { keyProtectKey: props.rootKey.rootKeyCrn, backupEncryptionKeyCrn: props.rootKey.rootKeyCrn } : {}),
      ...(this.authorizationSettled ? { dependsOn: [this.authorizationSettled] } : {}),
      ...(tags ? { tags } : {}),
      ...(preventDestroy ? { lifecycle: { preventDestroy: true } } : {}),
    });

    this.credentials = new ResourceKey(this, 'Credentials', {
      name: `${props.name}-kmip-nodes`,
      resourceInstanceId: this.database.id,
      role: 'Editor',
      parameters: { 'service-endpoints': 'private' },
      ...(tags ? { tags } : {}),
    });
  }

  private credential(path: string): string {
    return this.credentials.credentials.lookup(path);
  }

  /**
   * postgres:// URL (user and password URL-encoded, so it is JSON-safe). Sensitive.
   * `sslRootCert` names the CA file on the machine that connects: node-postgres takes TLS settings from the URL
   * over the ones passed beside it, so with `sslmode=verify-full` the CA must be in the URL too.
   */
  connectionUrl(sslRootCert?: string): string {
    const user = Fn.urlencode(this.credential('connection.postgres.authentication.username'));
    const password = Fn.urlencode(this.credential('connection.postgres.authentication.password'));
    const host = this.credential('connection.postgres.hosts.0.hostname');
    const port = this.credential('connection.postgres.hosts.0.port');
    const database = this.credential('connection.postgres.database');
    const query = `sslmode=verify-full${sslRootCert ? `&sslrootcert=${encodeURIComponent(sslRootCert)}` : ''}`;
    return `postgres://${user}:${password}@${host}:${port}/${database}?${query}`;
  }

  /** The URL without a CA file (for operators, who pass the CA themselves). Sensitive. */
  get url(): string {
    return this.connectionUrl();
  }

  /** Base64 of the PEM of the CA that signed the database's certificate. */
  get caCertificateBase64(): string {
    return this.credential('connection.postgres.certificate.certificate_base64');
  }
}
