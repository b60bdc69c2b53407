/**
 * PropertyCollector reads: every object of some types under the inventory root in pages
 * (RetrievePropertiesEx with maxObjects, then ContinueRetrievePropertiesEx until no token; reference
 * §B.5), and waiting for a task by reading its `info` until it ends. Both transports speak this.
 */
import { VcenterError } from './errors.js';
import type { VcenterSession } from './session.js';
import { moRef, unwrapAny, type DataObject, type MoRef } from './transport.js';
import { MoRefResult, RetrieveResultSchema, TaskInfoSchema, read, type RetrieveResult, type TaskInfo } from './wire.js';

export interface InventoryObject {
  readonly ref: MoRef;
  /** Property path → value (absent when unset on the object). */
  readonly props: ReadonlyMap<string, unknown>;
}

export interface PropertyRequest {
  readonly type: string;
  readonly paths: readonly string[];
}

function propertySpec(r: PropertyRequest): DataObject {
  return { _typeName: 'PropertySpec', type: r.type, all: false, pathSet: [...r.paths] };
}

function toObjects(result: RetrieveResult): InventoryObject[] {
  return result.objects.map((o) => ({ ref: o.obj, props: new Map(o.propSet.map((p) => [p.name, unwrapAny(p.val)])) }));
}

/**
 * Every object of the requested types in the whole inventory, in one filter (one container view),
 * `pageSize` objects per round trip. The view is destroyed at the end, even on failure.
 */
export async function retrieveInventory(session: VcenterSession, requests: readonly PropertyRequest[], pageSize: number): Promise<InventoryObject[]> {
  const { viewManager, rootFolder, propertyCollector } = session.content;
  const view = read(
    MoRefResult,
    await session.call(viewManager!, 'CreateContainerView', { container: moRef(rootFolder), type: requests.map((r) => r.type), recursive: true }),
    'CreateContainerView',
  );
  try {
    const spec: DataObject = {
      _typeName: 'PropertyFilterSpec',
      propSet: requests.map(propertySpec),
      objectSet: [
        {
          _typeName: 'ObjectSpec',
          obj: moRef(view),
          skip: true,
          selectSet: [{ _typeName: 'TraversalSpec', name: 'traverseView', type: 'ContainerView', path: 'view', skip: false }],
        },
      ],
    };
    const out: InventoryObject[] = [];
    let page = read(
      RetrieveResultSchema,
      (await session.call(propertyCollector, 'RetrievePropertiesEx', { specSet: [spec], options: { _typeName: 'RetrieveOptions', maxObjects: pageSize } })) ?? {},
      'RetrievePropertiesEx',
    );
    out.push(...toObjects(page));
    // A bound on pages so a misbehaving server cannot keep us here: 100k pages is far past any vCenter.
    for (let n = 0; page.token && n < 100_000; n++) {
      page = read(RetrieveResultSchema, (await session.call(propertyCollector, 'ContinueRetrievePropertiesEx', { token: page.token })) ?? {}, 'ContinueRetrievePropertiesEx');
      out.push(...toObjects(page));
    }
    return out;
  } finally {
    await session.call(view, 'DestroyView').catch(() => undefined);
  }
}

/** Some properties of one object, read now (absent paths are unset on it). */
export async function readObject(session: VcenterSession, ref: MoRef, paths: readonly string[]): Promise<InventoryObject> {
  const spec: DataObject = {
    _typeName: 'PropertyFilterSpec',
    propSet: [propertySpec({ type: ref.type, paths })],
    objectSet: [{ _typeName: 'ObjectSpec', obj: moRef(ref), skip: false }],
  };
  const result = read(RetrieveResultSchema, (await session.call(session.content.propertyCollector, 'RetrievePropertiesEx', { specSet: [spec], options: { _typeName: 'RetrieveOptions' } })) ?? {}, `${ref.type} ${ref.value}`);
  const [object] = toObjects(result);
  if (!object) throw new VcenterError('VC_ERR_FAULT', `${ref.type} ${ref.value} is not in the inventory (any more)`, 'ManagedObjectNotFound');
  return object;
}

async function taskInfo(session: VcenterSession, task: MoRef): Promise<TaskInfo> {
  const info = (await readObject(session, task, ['info'])).props.get('info');
  if (info === undefined) throw new VcenterError('VC_ERR_PROTOCOL', `task ${task.value} has no info`);
  return read(TaskInfoSchema, info, 'Task.info');
}

/** Waits for a task (polling, 100 ms growing to 2 s) and returns its result; a failed task throws. */
export async function waitForTask(session: VcenterSession, task: MoRef, what: string, timeoutMs = 180_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    const info = await taskInfo(session, task);
    if (info.state === 'success') return info.result;
    if (info.state === 'error') {
      const type = info.error?.fault?._typeName ?? 'RuntimeFault';
      throw new VcenterError('VC_ERR_FAULT', `${what}: ${type}${info.error?.localizedMessage ? `: ${info.error.localizedMessage}` : ''}`, type);
    }
    if (Date.now() + delay > deadline) throw new VcenterError('VC_ERR_CONNECT', `${what} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
