/**
 * One KMIP key provider in one region: `kmip-<env>-<region>`. Composes the modules from the validated config,
 * the built server bundle (by path, pinned by its SHA-256 — never the server's sources) and the stack's TLS
 * material, and prints what vCenter needs.
 */
import { isAbsolute, resolve } from 'node:path';
import { Annotations, Aspects, Fn, LocalBackend, S3Backend, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable, propertyAccess, type IAspect } from 'cdktf';
import type { Construct, IConstruct } from 'constructs';
import { DataIbmIsImage } from '../.gen/providers/ibm/data-ibm-is-image/index.js';
import { DataIbmIsImages } from '../.gen/providers/ibm/data-ibm-is-images/index.js';
import { TimeProvider } from '../.gen/providers/time/provider/index.js';
import { DataIbmResourceGroup } from '../.gen/providers/ibm/data-ibm-resource-group/index.js';
import { IbmProvider } from '../.gen/providers/ibm/provider/index.js';
import { AssetBucket } from '../modules/assets/asset-bucket.js';
import { PostgresDatabase } from '../modules/database/database.js';
import { ServiceIdentity } from '../modules/identity/service-identity.js';
import { KeyProtect, type RootKeySource } from '../modules/key-protect/key-protect.js';
import { KmipCluster } from '../modules/kmip-cluster/kmip-cluster.js';
import { ADMIN_PORT, KMIP_PORT, METADATA_ENDPOINT, PATHS, SERVICE_USER, adminEndpoint, cosDirectEndpoint, renderCloudConfig, renderServerConfig, type Asset } from '../modules/kmip-cluster/plan-boot.js';
import { KmipNetwork } from '../modules/network/network.js';
import { PrivateEndpoints, serviceEndpointCrns } from '../modules/network/private-endpoints.js';
import { ContextRestrictions } from '../modules/restrictions/context-restrictions.js';
import { planSubnets, type SubnetPlan } from '../modules/network/plan-subnets.js';
import { normalizeTags, resourceName, stackName } from '../modules/shared/plan-names.js';
import type { EnvironmentConfig, RegionConfig, StacksConfig } from './config.js';
import { loadStackPki, type StackPki } from './pki.js';
import { pruneStore, resolveReleases, storeAssets, storedAssetFile as storedFile, type NodeRelease, type ZoneReleasePlan } from './releases.js';

/** Terraform versions the synthesized JSON needs: the S3 backend's endpoints and checksum settings came in 1.6.3. */
export const REQUIRED_TERRAFORM = '>= 1.6.3';
/** hashicorp/time, for the pause after a service-to-service authorization. */
export const TIME_PROVIDER_VERSION = '0.13.1';

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
   * (scripts/teardown.ts) sets it, to false, after its preflight and backup: everything becomes destroyable
   * except Key Protect (instance, key ring, root key, policies), which the teardown takes out of the state
   * instead, so the root key outlives the stack as long as its backups must stay readable. @default the environment's
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
  /** What each zone's node runs (recorded in <pkiDir>/<stack>/releases.json) and what a roll would bring. */
  readonly releases: readonly ZoneReleasePlan[];
  /** The release a roll moves each zone to (the current files and settings). */
  readonly currentReleases: Readonly<Record<string, NodeRelease>>;
  /** Terraform address of each zone's instance (`ibm_is_instance.<name>`). */
  readonly instanceAddresses: Readonly<Record<string, string>>;
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
  readonly privateEndpoints?: PrivateEndpoints;
  readonly restrictions?: ContextRestrictions;
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
    new TimeProvider(this, 'time');
    this.addOverride('terraform.required_version', REQUIRED_TERRAFORM);
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
    const image = this.selectImage(r);

    // Key Protect: the customer root key.
    const kp = r.keyProtect;
    let rootKey: RootKeySource;
    if (kp.rootKey.source === 'import') {
      const variable = (id: string, description: string) => new TerraformVariable(this, id, { type: 'string', sensitive: true, nullable: false, description }).stringValue;
      rootKey = {
        source: 'import',
        name: kp.rootKey.name,
        payload: variable(kp.rootKey.materialVariable, 'Root key material wrapped under a Key Protect import token (secure import; kmipctl keyprotect import-prepare). Keep your own backup of the plaintext material.'),
        encryptedNonce: variable(kp.rootKey.encryptedNonceVariable, 'The import token nonce encrypted with the root key material (secure import)'),
        iv: variable(kp.rootKey.ivVariable, 'The IV of the encrypted nonce (secure import)'),
      };
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
      // The teardown never destroys the root key: the backup it takes is wrapped by it (see retainedByTeardown).
      preventDestroy: protect || props.destroyProtection === false,
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
      loadBalancer: r.loadBalancer.enabled,
      kmipPort: KMIP_PORT,
      adminPort: ADMIN_PORT,
      tags,
    });

    // Releases: what each node runs. Every asset file is kept content-addressed beside the PKI, so an older
    // release a node still runs stays deployable.
    const stackPkiDir = this.pki.dir;
    const current = (zone: string): NodeRelease => ({
      assets: storeAssets(stackPkiDir, {
        'server-bundle': abs(cfg.serverBundle),
        'tls-ticket-keys': this.pki.ticketKeysFile,
        // Only the admin CA's certificate: its key stays with the operator (npm run pki).
        'tls-admin-ca': this.pki.adminCaCertFile,
        'tls-cert': this.pki.nodes[zone]!.certFile,
        'tls-key': this.pki.nodes[zone]!.keyFile,
      }),
      settings: {
        profile: r.instance.profile,
        bootVolumeGb: r.instance.bootVolumeGb,
        logLevel: r.server.logLevel,
        keyProtectCacheSeconds: r.server.keyProtectCacheSeconds,
        identityCacheSeconds: r.server.identityCacheSeconds,
        databasePoolSize: r.server.databasePoolSize,
        maxConnections: r.server.maxConnections,
      },
    });
    this.currentReleases = Object.fromEntries(this.plan.zoneNames.map((z) => [z, current(z)]));
    this.releases = resolveReleases(stackPkiDir, this.plan.zoneNames, (z) => this.currentReleases[z]!, props.now ? () => props.now! : undefined);
    pruneStore(stackPkiDir, Object.values(this.currentReleases));
    const currentBundle = this.currentReleases[this.plan.zoneNames[0]!]!.assets['server-bundle']!;
    const files = new Map<string, { file: string; name: string }>();
    for (const zone of this.plan.zoneNames) {
      const cur = this.currentReleases[zone]!;
      for (const a of Object.values(cur.assets)) files.set(`${a.sha256}/${a.name}`, { file: storedFile(stackPkiDir, a), name: a.name });
    }
    for (const rel of this.releases) for (const [id, f] of Object.entries(rel.assetFiles)) files.set(`${rel.running.assets[id]!.sha256}/${rel.running.assets[id]!.name}`, { file: f, name: rel.running.assets[id]!.name });

    // Assets: the server bundles and TLS material of every release a node runs, hash-pinned.
    this.assets = new AssetBucket(this, 'Assets', {
      region: r.region,
      resourceGroupId: resourceGroup.id,
      bucketName: resourceName(name, 'assets', this.pki.caFingerprint.slice(0, 8)),
      instanceName: resourceName(name, 'cos'),
      ...(r.assets.existingCosInstanceCrn ? { existingInstanceCrn: r.assets.existingCosInstanceCrn } : {}),
      ...(r.assets.encryptWithRootKey ? { rootKey: byok } : {}),
      files: [...files.values()],
      tags,
    });
    this.bundleSha256 = currentBundle.sha256;

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
      allowlist: [
        // IBM allows 1-32 characters of description.
        ...this.plan.zoneNames.map((z) => ({ address: this.plan.zones[z]!.cidr, description: `KMIP nodes ${z}` })),
        ...r.operatorNetworks.map((address) => ({ address, description: 'operator network' })),
      ],
      ...(r.database.encryptWithRootKey ? { rootKey: byok } : {}),
      preventDestroy: protect,
      tags,
    });

    if (r.network.privateEndpoints) {
      const endpoints = serviceEndpointCrns(r.region);
      this.privateEndpoints = new PrivateEndpoints(this, 'PrivateEndpoints', {
        name: resourceName(name),
        vpcId: this.network.vpc.id,
        resourceGroupId: resourceGroup.id,
        subnetIds: this.plan.zoneNames.map((z) => this.network.subnetId(z)),
        nodeSecurityGroupId: this.network.nodeSecurityGroup.id,
        // A gateway's addresses are chosen by IBM: only once the nodes' addresses are reserved.
        after: Object.values(this.network.nodeAddresses),
        targets: [
          { id: 'kms', crn: endpoints.kms },
          { id: 'cos', crn: endpoints.cos },
          { id: 'db', crn: this.database.database.id },
        ],
        tags,
      });
    }
    if (r.contextRestrictions.enforcement !== 'off') {
      this.restrictions = new ContextRestrictions(this, 'Restrictions', {
        name: resourceName(name),
        accountId: accountOf(this.keyProtect.instanceCrn),
        vpcCrn: this.network.vpc.crn,
        deployerCidrs: r.contextRestrictions.deployerNetworks,
        operatorCidrs: r.operatorNetworks,
        // Only instances this stack owns: a rule on a shared instance would restrict its other users too.
        services: [
          ...(this.keyProtect.instance ? [{ label: 'Key Protect', serviceName: 'kms', serviceInstance: this.keyProtect.instanceGuid }] : []),
          { label: 'Databases for PostgreSQL', serviceName: 'databases-for-postgresql', serviceInstance: this.database.database.guid },
          ...(this.assets.instance ? [{ label: 'Object Storage', serviceName: 'cloud-object-storage', serviceInstance: this.assets.cosInstanceGuid }] : []),
        ],
        enforcement: r.contextRestrictions.enforcement,
        // the services that use the root key themselves (bucket and database encryption)
        serviceCallers: [...(r.assets.encryptWithRootKey ? ['cloud-object-storage'] : []), ...(r.database.encryptWithRootKey ? ['databases-for-postgresql'] : [])],
      });
    }

    // The nodes, each from the release its zone runs.
    const clusterNodes = this.releases.map((rel) => {
      const zone = rel.zone;
      const z = this.plan.zones[zone]!;
      const asset = (id: string, path: string, mode: Asset['mode'], group: string): Asset => {
        const a = rel.running.assets[id]!;
        const uploaded = this.assets.asset(a.sha256, a.name);
        return { key: uploaded.key, sha256: a.sha256, bytes: uploaded.bytes, path, mode, owner: 'root', group };
      };
      const settings = rel.running.settings;
      const manifest = {
        endpoint: cosDirectEndpoint(r.region),
        bucket: this.assets.bucketName,
        metadataEndpoint: METADATA_ENDPOINT,
        trustedProfileId: this.identity.profileId,
        assets: [
          asset('server-bundle', PATHS.bundle, '0644', 'root'),
          asset('tls-ticket-keys', PATHS.ticketKeys, '0640', SERVICE_USER),
          asset('tls-admin-ca', PATHS.adminCa, '0644', 'root'),
          asset('tls-cert', PATHS.cert, '0644', 'root'),
          asset('tls-key', PATHS.key, '0640', SERVICE_USER),
        ],
      };
      const serverConfig = renderServerConfig({
        nodeIp: z.nodeIp,
        trustedProfileId: this.identity.profileId,
        keyProtect: {
          region: r.region,
          instanceId: this.keyProtect.instanceGuid,
          rootKeyId: this.keyProtect.rootKeyId,
          endpoint: 'private',
          cacheSeconds: settings.keyProtectCacheSeconds,
        },
        databaseUrl: this.database.connectionUrl(PATHS.dbCa),
        databasePoolSize: settings.databasePoolSize,
        logLevel: settings.logLevel,
        identityCacheSeconds: settings.identityCacheSeconds,
        maxConnections: settings.maxConnections,
      });
      return {
        zone,
        subnetId: this.network.subnetId(zone),
        ip: z.nodeIp,
        reservedIpId: this.network.nodeAddress(zone).reservedIp,
        profile: settings.profile,
        bootVolumeGb: settings.bootVolumeGb,
        userData: renderCloudConfig({ serverConfig, manifest, databaseCaBase64: this.database.caCertificateBase64 }),
      };
    });
    this.cluster = new KmipCluster(this, 'Cluster', {
      name: resourceName(name),
      vpcId: this.network.vpc.id,
      resourceGroupId: resourceGroup.id,
      imageId: image.id,
      ...(image.precondition ? { imagePrecondition: image.precondition } : {}),
      trustedProfileId: this.identity.profileId,
      securityGroupIds: [this.network.nodeSecurityGroup.id],
      ...(this.network.loadBalancerSecurityGroup ? { loadBalancerSecurityGroupId: this.network.loadBalancerSecurityGroup.id } : {}),
      addressReservations: Object.values(this.network.nodeAddresses),
      // Nodes start only once their identity can read the bucket and Key Protect, and the objects are there.
      nodesDependOn: [this.identity.keyProtectPolicy, ...(this.identity.assetPolicy ? [this.identity.assetPolicy] : []), ...Object.values(this.assets.assets).map((a) => a.object)],
      nodes: clusterNodes,
      sshKeyIds: r.ssh.keyIds,
      loadBalancer: r.loadBalancer.enabled,
      tags,
    });

    this.instanceAddresses = Object.fromEntries(Object.entries(this.cluster.instances).map(([zone, i]) => [zone, `ibm_is_instance.${i.friendlyUniqueId}`]));

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
    new TerraformOutput(this, 'trusted_profile_id', { value: this.identity.profileId, description: 'IAM trusted profile the KMIP server nodes run as (no API key exists)' });
    new TerraformOutput(this, 'server_bundle_sha256', { value: this.bundleSha256, description: 'SHA-256 of the newest server bundle (npm run roll moves the nodes onto it one zone at a time)' });
    new TerraformOutput(this, 'node_releases', {
      value: Object.fromEntries(this.releases.map((rel) => [rel.zone, { release: rel.runningId, server_bundle_sha256: rel.running.assets['server-bundle']!.sha256, up_to_date: rel.upToDate }])),
      description: 'The release each node runs; up_to_date false means npm run roll has zones to move',
    });
    new TerraformOutput(this, 'asset_bucket', { value: this.assets.bucketName, description: 'Object Storage bucket with the server bundle and TLS material' });
    new TerraformOutput(this, 'database_url', { value: this.database.url, sensitive: true, description: 'PostgreSQL URL for kmipctl from an operator network (sensitive)' });
    new TerraformOutput(this, 'database_ca_base64', { value: this.database.caCertificateBase64, sensitive: true, description: 'Base64 PEM of the database CA (from the sensitive credentials)' });
    if (this.cluster.loadBalancer) {
      new TerraformOutput(this, 'kmip_load_balancer', { value: `${this.cluster.loadBalancer.hostname}:${KMIP_PORT}`, description: 'Private load balancer in front of the nodes' });
    }

    Aspects.of(this).add(new RequireTags(tags));
  }

  /**
   * The image the nodes boot: a named image when the config pins one, else the region's public stock image of
   * the configured operating system (`debian-13-amd64` by default: Debian 13 packages the Node.js 20 the server
   * needs). IBM replaces stock images by point release and deprecates the old names; choosing by operating system
   * keeps a stack working for years. Of the candidates, an available image wins over a deprecated one, then the
   * last by name, numbers compared as numbers (IBM keeps one available stock image per operating system most of the time; while a point release
   * rolls out, the later name is the newer one). A region without any leaves the id empty, and the nodes'
   * precondition stops the plan with the fix (never a destroy: conditions are not checked when destroying).
   */
  private selectImage(r: RegionConfig): { id: string; precondition?: { condition: string; errorMessage: string } } {
    if (r.instance.image) return { id: new DataIbmIsImage(this, 'Image', { name: r.instance.image, visibility: 'public' }).id };
    const images = new DataIbmIsImages(this, 'StockImages', { visibility: 'public' });
    const os = JSON.stringify(r.instance.imageOs);
    const list = `data.ibm_is_images.${images.friendlyUniqueId}.images`;
    // Written as Terraform expressions: cdktf has no for-expression with a filter.
    const candidates = new TerraformLocal(
      this,
      'node_image_candidates',
      // The sort key pads each number of the name, so ibm-debian-13-10-… comes after ibm-debian-13-9-….
      `\${sort([for i in ${list} : "\${i.status == "available" ? 1 : 0}|\${join("-", [for p in split("-", i.name) : can(tonumber(p)) ? format("%08d", tonumber(p)) : p])}|\${i.id}" if i.os == ${os} && contains(["available", "deprecated"], i.status)])}`,
    );
    const last = `element(local.${candidates.friendlyUniqueId}, length(local.${candidates.friendlyUniqueId}) - 1)`;
    const chosen = new TerraformLocal(this, 'node_image_id', `\${length(local.${candidates.friendlyUniqueId}) > 0 ? element(split("|", ${last}), 2) : ""}`);
    return {
      id: chosen.asString,
      precondition: {
        condition: `\${local.${chosen.friendlyUniqueId} != ""}`,
        errorMessage: `No public image for ${r.instance.imageOs} in ${r.region}: set instance.imageOs to one the region offers, or pin instance.image.`,
      },
    };
  }
}

/** The account id in a CRN (`…:a/<account>:…`), at synth time when the CRN is literal, else as a Terraform expression. */
function accountOf(crn: string): string {
  const literal = /^crn:v1:[^:]*:[^:]*:[^:]*:[^:]*:a\/([0-9a-f]{32}):/.exec(crn);
  if (literal) return literal[1]!;
  return Fn.replace(Fn.element(Fn.split(':', crn), 6), 'a/', '');
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
