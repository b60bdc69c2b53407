/**
 * One KMIP key provider in one region: `kmip-<env>-<region>`. Composes the modules from the validated config,
 * the built server bundle (by path, pinned by its SHA-256 — never the server's sources) and the stack's TLS
 * material, and prints what vCenter needs.
 */
import { isAbsolute, resolve } from 'node:path';
import { Annotations, Aspects, LocalBackend, S3Backend, TerraformOutput, TerraformStack, TerraformVariable, type IAspect } from 'cdktf';
import type { Construct, IConstruct } from 'constructs';
import { DataIbmIsImage } from '../.gen/providers/ibm/data-ibm-is-image/index.js';
import { DataIbmResourceGroup } from '../.gen/providers/ibm/data-ibm-resource-group/index.js';
import { IbmProvider } from '../.gen/providers/ibm/provider/index.js';
import { AssetBucket } from '../modules/assets/asset-bucket.js';
import { PostgresDatabase } from '../modules/database/database.js';
import { ServiceIdentity } from '../modules/identity/service-identity.js';
import { KeyProtect, type RootKeySource } from '../modules/key-protect/key-protect.js';
import { KmipCluster } from '../modules/kmip-cluster/kmip-cluster.js';
import { ADMIN_PORT, KMIP_PORT, PATHS, PRIVATE_IAM_ENDPOINT, SERVICE_USER, adminEndpoint, cosDirectEndpoint, renderCloudConfig, renderServerConfig, type Asset } from '../modules/kmip-cluster/plan-boot.js';
import { KmipNetwork } from '../modules/network/network.js';
import { planSubnets, type SubnetPlan } from '../modules/network/plan-subnets.js';
import { normalizeTags, resourceName, stackName } from '../modules/shared/plan-names.js';
import type { EnvironmentConfig, RegionConfig, StacksConfig } from './config.js';
import { loadStackPki, type StackPki } from './pki.js';

export interface KmipRegionStackProps {
  readonly config: StacksConfig;
  readonly environment: EnvironmentConfig;
  readonly region: RegionConfig;
  /** Directory that relative paths of the config are resolved against. @default process.cwd() */
  readonly baseDir?: string;
  /** Clock for certificate expiry checks. @default now */
  readonly now?: Date;
  /**
   * Overrides the environment's `destroyProtection` for this stack only. Only the teardown flow
   * (scripts/teardown.ts) sets it, to false, after its preflight and backup. @default the environment's
   */
  readonly destroyProtection?: boolean;
}

/** vCenter's KmipServerSpec for one server (CryptoManagerKmip.RegisterKmipServer). */
export interface VcenterKmipServerSpec {
  readonly clusterId: { readonly id: string };
  readonly info: { readonly name: string; readonly address: string; readonly port: number; readonly protocol: string };
}

/** Every taggable IBM resource must carry the stack's tags (checked for the whole tree at synth). */
export class RequireTags implements IAspect {
  constructor(private readonly required: readonly string[]) {}
  visit(node: IConstruct): void {
    const r = node as unknown as { tagsInput?: string[]; terraformResourceType?: string };
    if (!r.terraformResourceType || !('tagsInput' in (node as object))) return;
    const have = new Set(r.tagsInput ?? []);
    const missing = this.required.filter((t) => !have.has(t));
    if (missing.length) Annotations.of(node).addError(`${r.terraformResourceType} lacks tags: ${missing.join(', ')}`);
  }
}

export class KmipRegionStack extends TerraformStack {
  readonly stackName: string;
  readonly plan: SubnetPlan;
  readonly pki: StackPki;
  readonly bundleSha256: string;
  readonly vcenterServers: readonly VcenterKmipServerSpec[];
  readonly endpoints: readonly string[];
  /** https://<node>:9696 per node, zone order: where kmipctl (and the teardown) reaches the management API. */
  readonly adminEndpoints: readonly string[];
  readonly keyProtect: KeyProtect;
  readonly identity: ServiceIdentity;
  readonly network: KmipNetwork;
  readonly database: PostgresDatabase;
  readonly assets: AssetBucket;
  readonly cluster: KmipCluster;
  readonly tags: readonly string[];

  constructor(scope: Construct, props: KmipRegionStackProps) {
    const name = stackName(props.environment.name, props.region.region);
    super(scope, name);
    this.stackName = name;
    const cfg = props.config;
    const env = props.environment;
    const r = props.region;
    const base = props.baseDir ?? process.cwd();
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
    const protect = props.destroyProtection ?? env.destroyProtection;
    const tags = normalizeTags([...cfg.tags, ...env.tags, ...r.tags, `kmip-env:${env.name}`, `kmip-stack:${name}`]);
    this.tags = tags;

    new IbmProvider(this, 'ibm', { region: r.region });
    if (cfg.backend.kind === 'local') {
      // Relative to the stack's folder (cdktf.out/stacks/<name>/): the project root, as cdktf's default, but
      // without an absolute path so the synthesized folder can be applied on another machine.
      new LocalBackend(this, { path: `../../../terraform.${name}.tfstate` });
    } else {
      new S3Backend(this, {
        bucket: cfg.backend.bucket,
        key: `${cfg.backend.keyPrefix}/${name}.tfstate`,
        region: cfg.backend.region,
        endpoints: { s3: cfg.backend.endpoint ?? `https://s3.${cfg.backend.region}.cloud-object-storage.appdomain.cloud` },
        skipCredentialsValidation: true,
        skipRegionValidation: true,
        skipRequestingAccountId: true,
        skipMetadataApiCheck: true,
        skipS3Checksum: true,
        usePathStyle: true,
      });
    }

    this.plan = planSubnets({
      region: r.region,
      zones: r.zones,
      subnetPrefixLength: r.network.subnetPrefixLength,
      subnetIndex: r.network.subnetIndex,
      hostIndex: r.network.hostIndex,
      ...(r.network.zonePrefixes ? { zonePrefixes: r.network.zonePrefixes } : {}),
    });
    const nodes = this.plan.zoneNames.map((z) => ({ zone: z, ip: this.plan.zones[z]!.nodeIp }));
    this.pki = loadStackPki(abs(cfg.pkiDir), name, nodes, props.now);
    for (const w of this.pki.warnings) Annotations.of(this).addWarning(w);

    const resourceGroup = new DataIbmResourceGroup(this, 'ResourceGroup', { name: r.resourceGroup });
    const image = new DataIbmIsImage(this, 'Image', { name: r.instance.image, visibility: 'public' });

    // Key Protect: the customer root key.
    const kp = r.keyProtect;
    let rootKey: RootKeySource;
    if (kp.rootKey.source === 'import') {
      const material = new TerraformVariable(this, kp.rootKey.materialVariable, {
        type: 'string',
        sensitive: true,
        nullable: false,
        description: 'Base64 of the root key material to import into Key Protect (16, 24 or 32 bytes). Keep your own backup of it.',
      });
      rootKey = { source: 'import', name: kp.rootKey.name, payload: material.stringValue };
    } else rootKey = kp.rootKey;
    this.keyProtect = new KeyProtect(this, 'KeyProtect', {
      region: r.region,
      resourceGroupId: resourceGroup.id,
      name: resourceName(name, 'kp'),
      instance: 'existingCrn' in kp.instance ? { existingCrn: kp.instance.existingCrn } : { create: true, plan: kp.instance.plan, allowedNetwork: kp.instance.allowedNetwork },
      ...(kp.keyRing ? { keyRing: kp.keyRing } : {}),
      rootKey,
      ...(kp.rotationMonths !== undefined ? { rotationMonths: kp.rotationMonths } : {}),
      ...(kp.dualAuthDelete !== undefined ? { dualAuthDelete: kp.dualAuthDelete } : {}),
      preventDestroy: protect,
      managementEndpoint: kp.managementEndpoint,
      tags,
    });
    const rootKeyCrn = this.keyProtect.rootKeyCrn ?? `${this.keyProtect.instanceCrn.replace(/::$/, '')}:key:${this.keyProtect.rootKeyId}`;
    const byok = { keyProtectInstanceGuid: this.keyProtect.instanceGuid, rootKeyCrn };

    // Network.
    this.network = new KmipNetwork(this, 'Network', {
      name: resourceName(name),
      resourceGroupId: resourceGroup.id,
      plan: this.plan,
      kmipClientCidrs: r.kmipClientCidrs,
      operatorCidrs: r.operatorNetworks,
      sshCidrs: r.ssh.allowedCidrs,
      kmipFromSubnets: r.loadBalancer.enabled,
      kmipPort: KMIP_PORT,
      adminPort: ADMIN_PORT,
      tags,
    });

    // Assets: the server bundle and the TLS material, hash-pinned.
    const bundleFile = abs(cfg.serverBundle);
    const files = [
      { id: 'server-bundle', file: bundleFile },
      { id: 'tls-ticket-keys', file: this.pki.ticketKeysFile },
      // Only the admin CA's certificate: its key stays with the operator (npm run pki).
      { id: 'tls-admin-ca', file: this.pki.adminCaCertFile },
      ...this.plan.zoneNames.flatMap((z) => [
        { id: `tls-${z}-cert`, file: this.pki.nodes[z]!.certFile },
        { id: `tls-${z}-key`, file: this.pki.nodes[z]!.keyFile },
      ]),
    ];
    this.assets = new AssetBucket(this, 'Assets', {
      region: r.region,
      resourceGroupId: resourceGroup.id,
      bucketName: resourceName(name, 'assets', this.pki.caFingerprint.slice(0, 8)),
      instanceName: resourceName(name, 'cos'),
      ...(r.assets.existingCosInstanceCrn ? { existingInstanceCrn: r.assets.existingCosInstanceCrn } : {}),
      ...(r.assets.encryptWithRootKey ? { rootKey: byok } : {}),
      files,
      tags,
    });
    this.bundleSha256 = this.assets.asset('server-bundle').sha256;

    // Identity the servers run as.
    this.identity = new ServiceIdentity(this, 'Identity', {
      name: resourceName(name),
      keyProtectInstanceGuid: this.keyProtect.instanceGuid,
      keyProtectRole: r.identity.keyProtectRole,
      scope: r.identity.policyScope,
      rootKeyId: this.keyProtect.rootKeyId,
      ...(this.keyProtect.keyRingId ? { keyRingId: this.keyProtect.keyRingId } : {}),
      assetBucket: { cosInstanceGuid: this.assets.cosInstanceGuid, bucketName: this.assets.bucketName },
      tags,
    });

    // Database shared by the nodes.
    this.database = new PostgresDatabase(this, 'Database', {
      name: resourceName(name, 'db'),
      region: r.region,
      resourceGroupId: resourceGroup.id,
      plan: r.database.plan,
      version: r.database.version,
      memoryMb: r.database.memoryMb,
      diskMb: r.database.diskMb,
      cpuCount: r.database.cpuCount,
      allowlist: this.plan.zoneNames.map((z) => this.plan.zones[z]!.cidr),
      ...(r.database.encryptWithRootKey ? { rootKey: byok } : {}),
      preventDestroy: protect,
      tags,
    });

    // The nodes.
    const shared = (id: string, path: string, mode: Asset['mode'], group: string): Asset => {
      const a = this.assets.asset(id);
      return { key: a.key, sha256: a.sha256, path, mode, owner: 'root', group };
    };
    const clusterNodes = this.plan.zoneNames.map((zone) => {
      const z = this.plan.zones[zone]!;
      const manifest = {
        endpoint: cosDirectEndpoint(r.region),
        bucket: this.assets.bucketName,
        iamEndpoint: PRIVATE_IAM_ENDPOINT,
        apiKeyFile: PATHS.apiKey,
        assets: [
          shared('server-bundle', PATHS.bundle, '0644', 'root'),
          shared('tls-ticket-keys', PATHS.ticketKeys, '0640', SERVICE_USER),
          shared('tls-admin-ca', PATHS.adminCa, '0644', 'root'),
          shared(`tls-${zone}-cert`, PATHS.cert, '0644', 'root'),
          shared(`tls-${zone}-key`, PATHS.key, '0640', SERVICE_USER),
        ],
      };
      const serverConfig = renderServerConfig({
        nodeIp: z.nodeIp,
        keyProtect: {
          region: r.region,
          instanceId: this.keyProtect.instanceGuid,
          rootKeyId: this.keyProtect.rootKeyId,
          endpoint: 'private',
          cacheSeconds: r.server.keyProtectCacheSeconds,
        },
        databaseUrl: this.database.connectionUrl(PATHS.dbCa),
        databasePoolSize: r.server.databasePoolSize,
        logLevel: r.server.logLevel,
        identityCacheSeconds: r.server.identityCacheSeconds,
        maxConnections: r.server.maxConnections,
      });
      return {
        zone,
        subnetId: this.network.subnetId(zone),
        ip: z.nodeIp,
        userData: renderCloudConfig({ serverConfig, manifest, apiKey: this.identity.apiKeyValue, databaseCaBase64: this.database.caCertificateBase64 }),
      };
    });
    this.cluster = new KmipCluster(this, 'Cluster', {
      name: resourceName(name),
      vpcId: this.network.vpc.id,
      resourceGroupId: resourceGroup.id,
      imageId: image.id,
      profile: r.instance.profile,
      bootVolumeGb: r.instance.bootVolumeGb,
      securityGroupIds: [this.network.nodeSecurityGroup.id],
      nodes: clusterNodes,
      sshKeyIds: r.ssh.keyIds,
      loadBalancer: r.loadBalancer.enabled,
      tags,
    });
    // Nodes start only once their identity can read the bucket and the objects are there.
    for (const instance of Object.values(this.cluster.instances)) {
      instance.dependsOn = [
        ...(instance.dependsOn ?? []),
        this.identity.keyProtectPolicy.fqn,
        ...(this.identity.assetPolicy ? [this.identity.assetPolicy.fqn] : []),
        ...Object.values(this.assets.assets).map((a) => a.object.fqn),
      ];
    }

    // What vCenter needs.
    this.endpoints = nodes.map((n) => `${n.ip}:${KMIP_PORT}`);
    this.adminEndpoints = nodes.map((n) => adminEndpoint(n.ip));
    this.vcenterServers = nodes.map((n) => ({
      clusterId: { id: name },
      info: { name: `${name}-${n.zone}`, address: n.ip, port: KMIP_PORT, protocol: 'KMIP1' },
    }));
    const keyProvider = {
      format: 'kmip-for-vmware/vcenter-key-provider/v1',
      keyProvider: name,
      servers: this.vcenterServers,
      serverCertificateAuthorityPem: this.pki.caCertPem,
      steps: [
        'For each entry of servers: CryptoManagerKmip.RegisterKmipServer(server = entry); the first one creates the key provider',
        'CryptoManagerKmip.UploadKmipServerCert(cluster = {id: keyProvider}, certificate = serverCertificateAuthorityPem)',
        'Make vCenter trust the provider, then register vCenter\'s client certificate with kmipctl',
      ],
    };

    new TerraformOutput(this, 'kmip_endpoints', { value: this.endpoints, description: 'KMIP servers of this region (host:port), one per zone; list them all in one vCenter key provider' });
    new TerraformOutput(this, 'admin_endpoints', {
      value: this.adminEndpoints,
      description: 'Admin ports (HTTPS) of the nodes: kmipctl --admin-url with the admin client certificate from npm run pki; the teardown preflights each',
    });
    new TerraformOutput(this, 'kmip_server_ca_pem', { value: this.pki.caCertPem, description: 'CA that signed the KMIP server certificates: vCenter must trust it' });
    new TerraformOutput(this, 'vcenter_key_provider', { value: JSON.stringify(keyProvider), description: 'Key provider document for vCenter (KmipServerSpec per server, CA to trust)' });
    new TerraformOutput(this, 'key_protect_instance_crn', { value: this.keyProtect.instanceCrn, description: 'Key Protect instance holding the root key' });
    new TerraformOutput(this, 'root_key_id', { value: this.keyProtect.rootKeyId, description: 'Customer root key that wraps every KMIP key' });
    new TerraformOutput(this, 'service_id', { value: this.identity.serviceId.id, description: 'Service ID the KMIP servers run as' });
    new TerraformOutput(this, 'server_bundle_sha256', { value: this.bundleSha256, description: 'SHA-256 of the server bundle the nodes run' });
    new TerraformOutput(this, 'asset_bucket', { value: this.assets.bucketName, description: 'Object Storage bucket with the server bundle and TLS material' });
    new TerraformOutput(this, 'database_url', { value: this.database.url, sensitive: true, description: 'PostgreSQL URL for kmipctl (sensitive)' });
    new TerraformOutput(this, 'database_ca_base64', { value: this.database.caCertificateBase64, sensitive: true, description: 'Base64 PEM of the database CA (from the sensitive credentials)' });
    if (this.cluster.loadBalancer) {
      new TerraformOutput(this, 'kmip_load_balancer', { value: `${this.cluster.loadBalancer.hostname}:${KMIP_PORT}`, description: 'Private load balancer in front of the nodes' });
    }

    Aspects.of(this).add(new RequireTags(tags));
  }
}

export interface BuildStacksOptions {
  readonly baseDir?: string;
  readonly now?: Date;
  /** Build only these stacks. @default all */
  readonly only?: readonly string[];
  /**
   * Stacks whose destroy protection is lifted, whatever their environment says (teardown only: the
   * environment's flag would lift it for every region of the environment at once).
   */
  readonly unprotect?: readonly string[];
}

/** One stack per environment and region of the config. */
export function buildStacks(scope: Construct, config: StacksConfig, options: BuildStacksOptions = {}): KmipRegionStack[] {
  const stacks: KmipRegionStack[] = [];
  for (const environment of config.environments) {
    for (const region of environment.regions) {
      const name = stackName(environment.name, region.region);
      if (options.only && options.only.length && !options.only.includes(name)) continue;
      stacks.push(
        new KmipRegionStack(scope, {
          config,
          environment,
          region,
          ...(options.baseDir ? { baseDir: options.baseDir } : {}),
          ...(options.now ? { now: options.now } : {}),
          ...(options.unprotect?.includes(name) ? { destroyProtection: false } : {}),
        }),
      );
    }
  }
  return stacks;
}
