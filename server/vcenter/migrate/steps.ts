/**
 * The steps other than VMs, each idempotent and confirmed by reading vCenter back: the global and per-entity
 * defaults (SetDefaultKmsCluster, MarkDefault), vSAN data-at-rest encryption (VsanClusterReconfig: a shallow
 * rekey that also gives the cluster's hosts new host keys), a host's own key (ConfigureCryptoKey with a key
 * generated on the new provider: an unset key would keep the host's old one), and a cluster's host-key
 * policy (SetCryptoMode). Every outcome is journaled before it is returned.
 */
import { readObject, waitForTask } from '../property-collector.js';
import { moRef, type DataObject } from '../transport.js';
import { ClusterConfigExSchema, MoRefResult, read } from '../wire.js';
import { policyProviderOf, VSAN_CONFIG_SYSTEM } from '../usage.js';
import { readHost, readProviders, readVsan } from './inventory.js';
import { guarded, result, type ItemResult, type StepContext } from './context.js';
import type { PlanItem } from './plan.js';

const providerId = (id: string): DataObject => ({ _typeName: 'KeyProviderId', id });

async function globalDefault(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const isDefault = async () => (await readProviders(ctx.session)).find((p) => p.id === ctx.to)?.isDefault === true;
  if (await isDefault()) return result(item, 'already');
  ctx.journal.record(item.id, { event: 'sent' });
  await ctx.crypto.markDefault(ctx.to);
  return (await isDefault()) ? result(item, 'migrated') : result(item, 'failed', { detail: `vCenter does not report ${ctx.to} as its default after MarkDefault` });
}

async function entityDefault(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const entity = item.ref!;
  const ours = async () => (await readProviders(ctx.session)).find((p) => p.id === ctx.to)?.entityDefaults.some((e) => e.value === entity.value) === true;
  if (await ours()) return result(item, 'already');
  ctx.journal.record(item.id, { event: 'sent' });
  await ctx.crypto.setEntityDefault(entity, ctx.to);
  return (await ours()) ? result(item, 'migrated') : result(item, 'failed', { detail: `vCenter does not report ${ctx.to} as this ${entity.type}'s default afterwards` });
}

async function vsanCluster(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const cluster = item.ref!;
  let vsan = await readVsan(ctx.session, cluster);
  if (vsan.unreadable) return result(item, 'blocked', { detail: vsan.unreadable });
  if (vsan.provider === ctx.to && !vsan.changing) return result(item, ctx.journal.of(item.id).sent ? 'migrated' : 'already');
  if (vsan.changing) return result(item, 'blocked', { detail: 'an encryption change is in progress on this cluster: run again when it has finished' });
  if (vsan.health === 'red') return result(item, 'blocked', { detail: 'vSAN health is red' });
  if ((vsan.objectsToSync ?? 0) > 0) return result(item, 'blocked', { detail: `${vsan.objectsToSync} object(s) resyncing` });
  ctx.journal.record(item.id, { event: 'sent' });
  const spec: DataObject = {
    _typeName: 'VimVsanReconfigSpec',
    modify: true,
    dataEncryptionConfig: { _typeName: 'VsanDataEncryptionConfig', encryptionEnabled: true, kmsProviderId: providerId(ctx.to) },
  };
  const task = read(MoRefResult, await ctx.session.callVsan(VSAN_CONFIG_SYSTEM, 'VsanClusterReconfig', { cluster: moRef(cluster), vsanReconfigSpec: spec }), 'VsanClusterReconfig');
  ctx.journal.record(item.id, { event: 'task', task: task.value });
  await waitForTask(ctx.session, task, `vSAN encryption switch of ${item.name}`, ctx.taskTimeoutMs);
  vsan = await readVsan(ctx.session, cluster);
  if (vsan.provider !== ctx.to) return result(item, 'failed', { detail: `vSAN reports provider ${vsan.provider ?? 'none'} after the switch` });
  // Still adapting on some hosts: not done until vSAN says so (its hosts wait; a later run or verify sees the end).
  if (vsan.changing) return result(item, 'blocked', { detail: 'switched, and vSAN still reports the change in progress on some hosts: run again when it has finished' });
  return result(item, 'migrated');
}

async function host(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const h = await readHost(ctx.session, item.ref!);
  const history = ctx.journal.of(item.id);
  if (h.key?.providerId !== ctx.from) {
    return result(item, history.keyId && h.key?.keyId === history.keyId ? 'migrated' : 'already', h.key?.providerId === ctx.to ? { keyId: h.key.keyId } : {});
  }
  if (h.connectionState !== 'connected') return result(item, 'blocked', { detail: `host is ${h.connectionState}` });
  // vSAN owns the host keys of an encrypted cluster: never change one while its cluster is on the old provider or switching.
  if (h.parent?.type === 'ClusterComputeResource') {
    const vsan = await readVsan(ctx.session, h.parent);
    if (!vsan.configUnreadable && vsan.encryptionEnabled && (vsan.changing || vsan.provider === ctx.from)) {
      return result(item, 'blocked', { detail: vsan.changing ? "its vSAN cluster's encryption change is in progress: vSAN gives it a new host key" : "its vSAN cluster is still on the old provider: it is rekeyed with the cluster's switch" });
    }
  }
  if (h.cryptoState !== undefined && h.cryptoState !== 'safe') return result(item, 'blocked', { detail: `crypto state ${h.cryptoState}` });
  let keyId = history.keyId;
  if (!keyId) {
    keyId = await ctx.crypto.generateKey(ctx.to);
    ctx.journal.record(item.id, { event: 'key', keyId });
  }
  ctx.journal.record(item.id, { event: 'sent', keyId, oldKeys: [h.key.keyId] });
  await ctx.session.call(h.ref, 'ConfigureCryptoKey', { keyId: { _typeName: 'CryptoKeyId', keyId, providerId: providerId(ctx.to) } });
  const after = await readHost(ctx.session, h.ref);
  if (after.key?.keyId !== keyId || after.key.providerId !== ctx.to) return result(item, 'failed', { detail: `the host reports key ${after.key?.keyId ?? 'none'} after ConfigureCryptoKey` });
  return result(item, 'migrated', { keyId });
}

async function clusterPolicy(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const read_ = async () => read(ClusterConfigExSchema, (await readObject(ctx.session, item.ref!, ['configurationEx'])).props.get('configurationEx') ?? {}, 'configurationEx');
  const beforeCfg = await read_();
  const before = beforeCfg.cryptoConfig;
  if (policyProviderOf(beforeCfg) !== ctx.from) return result(item, policyProviderOf(beforeCfg) === ctx.to && ctx.journal.of(item.id).sent ? 'migrated' : 'already');
  ctx.journal.record(item.id, { event: 'sent' });
  await ctx.session.call(item.ref!, 'SetCryptoMode', {
    cryptoMode: before?.cryptoMode ?? 'onDemand',
    policy: { _typeName: 'ClusterComputeResourceCryptoModePolicy', providerId: providerId(ctx.to) },
  });
  const after = policyProviderOf(await read_());
  return after === ctx.to ? result(item, 'migrated') : result(item, 'failed', { detail: `the cluster's host-key policy names ${after ?? 'no provider'} afterwards` });
}

const STEPS = { default: globalDefault, 'entity-default': entityDefault, 'vsan-cluster': vsanCluster, host, 'cluster-policy': clusterPolicy } as const;

export function runStep(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  const step = STEPS[item.kind as keyof typeof STEPS];
  if (!step) throw new Error(`no step for ${item.kind}`);
  return guarded(ctx, item, () => step(ctx, item));
}
