/**
 * One VM (or template) moved to the new provider by a shallow rekey, idempotently:
 * - it acts on the VM as vCenter has it now, never on the plan's copy: what is already on the new provider
 *   is left alone, and a VM with nothing on the old provider is done;
 * - the key is generated on the new provider and journaled before it is sent, and reused on resume, so a
 *   crash leaves at most one unused key, never a second rekey;
 * - every change carries the VM's changeVersion, so a concurrent edit (or our own earlier, interrupted change
 *   landing late) is refused by vCenter instead of overwritten; the VM is then read again and retried;
 * - success is what vCenter reports afterwards: the VM home and every rekeyed disk on the journaled key.
 * A template is turned into a VM for the rekey and back into a template afterwards, also after a failure.
 */
import { isFault, VcenterError } from '../errors.js';
import { waitForTask } from '../property-collector.js';
import { moRef, type DataObject } from '../transport.js';
import { MoRefResult, read } from '../wire.js';
import { readVm, type VmRecord } from './inventory.js';
import { failedResult, journaled, result, type ItemResult, type StepContext } from './context.js';
import type { PlanItem } from './plan.js';

const recrypt = (keyId: string, provider: string): DataObject => ({
  _typeName: 'CryptoSpecShallowRecrypt',
  newKeyId: { _typeName: 'CryptoKeyId', keyId, providerId: { _typeName: 'KeyProviderId', id: provider } },
});

/** What of the VM is still on the old provider. */
function onOld(vm: VmRecord, from: string) {
  return { home: vm.key?.providerId === from, disks: vm.disks.filter((d) => d.key?.providerId === from) };
}

/** The preconditions of a shallow rekey that vCenter enforces, on fresh state (reference §2.4). */
function refusal(vm: VmRecord): string | undefined {
  if (vm.cryptoState === 'locked') return 'locked: its keys are missing; unlock it first';
  if (vm.snapshots === 'tree') return 'snapshot tree: a shallow rekey needs a single chain';
  if (vm.snapshots === 'none' && vm.disks.some((d) => d.hasParent)) return 'linked clone: shallow rekey is not supported';
  if (vm.hasIde && vm.powerState === 'poweredOn') return 'IDE controller on a powered-on VM: power it off for the rekey';
  return undefined;
}

function reconfigSpec(vm: VmRecord, keyId: string, ctx: StepContext): DataObject {
  const old = onOld(vm, ctx.from);
  return {
    _typeName: 'VirtualMachineConfigSpec',
    ...(vm.changeVersion ? { changeVersion: vm.changeVersion } : {}),
    ...(old.disks.length > 0
      ? {
          deviceChange: old.disks.map((d) => ({
            _typeName: 'VirtualDeviceConfigSpec',
            operation: 'edit',
            device: d.device,
            backing: { _typeName: 'VirtualDeviceConfigSpecBackingSpec', crypto: recrypt(keyId, ctx.to) },
          })),
        }
      : {}),
    ...(old.home ? { crypto: recrypt(keyId, ctx.to) } : {}),
  };
}

/** A killed run's change may still be running in vCenter: let it end before deciding anything. */
async function settlePending(ctx: StepContext, task: string | undefined): Promise<boolean> {
  if (!task) return false;
  try {
    await waitForTask(ctx.session, { type: 'Task', value: task }, 'the interrupted run\'s rekey', ctx.taskTimeoutMs);
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    // Failed, or vCenter no longer knows it: either way it is over; the fresh read below decides.
  }
  return true;
}

async function rekey(ctx: StepContext, item: PlanItem, first: VmRecord): Promise<ItemResult> {
  const history = ctx.journal.of(item.id);
  let vm = (await settlePending(ctx, history.pendingTask)) ? await readVm(ctx.session, first.ref) : first;
  let keyId = history.keyId;
  for (let attempt = 1; ; attempt++) {
    const old = onOld(vm, ctx.from);
    if (!old.home && old.disks.length === 0) {
      const detail = keyId && vm.key?.keyId === keyId ? undefined : 'nothing on the old provider';
      return result(item, keyId ? 'migrated' : 'already', { ...(detail ? { detail } : {}), ...(vm.key?.providerId === ctx.to ? { keyId: vm.key.keyId } : {}) });
    }
    const refused = refusal(vm);
    if (refused) return result(item, 'blocked', { detail: refused });
    if (!keyId) {
      keyId = await ctx.crypto.generateKey(ctx.to);
      ctx.journal.record(item.id, { event: 'key', keyId });
    }
    const oldKeys = [...new Set([...(old.home && vm.key ? [vm.key.keyId] : []), ...old.disks.map((d) => d.key!.keyId)])];
    ctx.journal.record(item.id, { event: 'sent', keyId, ...(vm.changeVersion ? { changeVersion: vm.changeVersion } : {}), oldKeys });
    try {
      const task = read(MoRefResult, await ctx.session.call(vm.ref, 'ReconfigVM_Task', { spec: reconfigSpec(vm, keyId, ctx) }), 'ReconfigVM_Task');
      ctx.journal.record(item.id, { event: 'task', task: task.value });
      await waitForTask(ctx.session, task, `rekey of ${vm.name}`, ctx.taskTimeoutMs);
    } catch (err) {
      if (!(err instanceof VcenterError)) throw err;
      if ((isFault(err, 'ConcurrentAccess') || isFault(err, 'TaskInProgress')) && attempt < ctx.concurrentRetries) {
        // Changed since we read it, or another change is running: read again and decide afresh (our own earlier
        // change may be what landed).
        if (isFault(err, 'TaskInProgress')) await new Promise((r) => setTimeout(r, 1000 * attempt));
        vm = await readVm(ctx.session, vm.ref);
        continue;
      }
      return failedResult(item, err);
    }
    vm = await readVm(ctx.session, vm.ref);
    const left = onOld(vm, ctx.from);
    if (left.home || left.disks.length > 0) {
      return result(item, 'failed', { detail: `vCenter reports ${[left.home ? 'the VM home' : '', ...left.disks.map((d) => d.label)].filter(Boolean).join(', ')} still on ${ctx.from} after the rekey` });
    }
    return result(item, 'migrated', { keyId });
  }
}

/** Rekeys one VM or template; the outcome is journaled before it is returned. */
export async function migrateVm(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  let out: ItemResult;
  try {
    out = await rekeyVmOrTemplate(ctx, item);
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    out = failedResult(item, err);
  }
  // A template that is a VM now (this run's conversion, or a killed run's) goes back, whatever happened above.
  if (item.kind === 'template' && ctx.journal.of(item.id).converted) out = await backToTemplate(ctx, item, out);
  return journaled(ctx, item, out);
}

async function rekeyVmOrTemplate(ctx: StepContext, item: PlanItem): Promise<ItemResult> {
  let vm = await readVm(ctx.session, item.ref!);
  if (item.kind !== 'template' || !vm.template) return rekey(ctx, item, vm);
  const old = onOld(vm, ctx.from);
  if (!old.home && old.disks.length === 0) {
    return result(item, ctx.journal.of(item.id).keyId ? 'migrated' : 'already', vm.key?.providerId === ctx.to ? { keyId: vm.key.keyId } : {});
  }
  const refused = refusal(vm);
  if (refused) return result(item, 'blocked', { detail: refused });
  const pool = vm.host ? ctx.poolOf(vm.host) : undefined;
  if (!pool) return result(item, 'blocked', { detail: "no resource pool found through the template's host" });
  ctx.journal.record(item.id, { event: 'converted' });
  await ctx.session.call(vm.ref, 'MarkAsVirtualMachine', { pool: moRef(pool), ...(vm.host ? { host: moRef(vm.host) } : {}) });
  vm = await readVm(ctx.session, vm.ref);
  return rekey(ctx, item, vm);
}

async function backToTemplate(ctx: StepContext, item: PlanItem, out: ItemResult): Promise<ItemResult> {
  try {
    const now = await readVm(ctx.session, item.ref!);
    if (!now.template) await ctx.session.call(now.ref, 'MarkAsTemplate', {});
    ctx.journal.record(item.id, { event: 'reverted' });
    return out;
  } catch (err) {
    if (!(err instanceof VcenterError)) throw err;
    return result(item, 'failed', { detail: `${out.detail ? `${out.detail}; ` : ''}left as a VM: turning it back into a template failed (${err.message}); run --apply again`, ...(err.faultType ? { fault: err.faultType } : {}) });
  }
}
