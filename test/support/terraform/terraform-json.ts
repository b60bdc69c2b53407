/** Terraform's machine-readable outputs (`show -json`, `output -json`, `providers schema -json`) as typed values. */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { terraform, terraformOk, type TfOptions, type TfRun } from './run.js';

export type ChangeAction = 'no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget';

export interface PlannedChange {
  readonly address: string;
  readonly mode: 'managed' | 'data';
  readonly type: string;
  readonly name: string;
  readonly actions: ChangeAction[];
  /** Delete-and-create in either order. */
  readonly replace: boolean;
  /** Paths that forced the replacement, as Terraform reports them (`[["group"]]`, `[["tcp", 0, "port_min"]]`). */
  readonly replacePaths: (string | number)[][];
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly afterUnknown: Record<string, unknown>;
}

interface PlanJson {
  resource_changes?: {
    address: string;
    mode: 'managed' | 'data';
    type: string;
    name: string;
    change: { actions: ChangeAction[]; replace_paths?: (string | number)[][]; before: Record<string, unknown> | null; after: Record<string, unknown> | null; after_unknown?: Record<string, unknown> };
  }[];
}

/** Runs terraform and parses its stdout as JSON; a non-zero exit is an error with the output. */
export async function terraformJson<T>(cwd: string, args: readonly string[], opts: TfOptions = {}): Promise<T> {
  const run = await terraformOk(cwd, args, opts);
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`terraform ${args.join(' ')} did not print JSON:\n${run.stdout.slice(0, 2000)}`);
  }
}

export interface PlanResult {
  readonly plan: TfRun;
  /** Every resource change, no-ops included; `changed` leaves them out. */
  readonly changes: PlannedChange[];
  readonly changed: PlannedChange[];
  readonly json: PlanJson;
}

/**
 * `terraform plan` into a temporary plan file, then `show -json` of it. Throws when the plan fails
 * (use terraform() for plans that are meant to fail).
 */
export async function planChanges(cwd: string, opts: TfOptions & { readonly planArgs?: readonly string[] } = {}): Promise<PlanResult> {
  const planFile = join(cwd, `.harness-${randomBytes(4).toString('hex')}.tfplan`);
  try {
    const plan = await terraformOk(cwd, ['plan', '-input=false', `-out=${planFile}`, ...(opts.planArgs ?? [])], opts);
    const json = await terraformJson<PlanJson>(cwd, ['show', '-json', planFile], opts);
    const changes = (json.resource_changes ?? []).map(
      (rc): PlannedChange => ({
        address: rc.address,
        mode: rc.mode,
        type: rc.type,
        name: rc.name,
        actions: rc.change.actions,
        replace: rc.change.actions.includes('create') && rc.change.actions.includes('delete'),
        replacePaths: rc.change.replace_paths ?? [],
        before: rc.change.before,
        after: rc.change.after,
        afterUnknown: rc.change.after_unknown ?? {},
      }),
    );
    return { plan, changes, changed: changes.filter((c) => !c.actions.every((a) => a === 'no-op' || a === 'read')), json };
  } finally {
    rmSync(planFile, { force: true });
  }
}

export interface StateResource {
  readonly address: string;
  readonly mode: 'managed' | 'data';
  readonly type: string;
  readonly name: string;
  readonly values: Record<string, unknown>;
}

interface ShowJson {
  values?: { outputs?: Record<string, { value: unknown; sensitive: boolean }>; root_module?: { resources?: StateResource[]; child_modules?: { resources?: StateResource[] }[] } };
}

/** The resources in the state (`terraform show -json`), root and child modules. */
export async function stateResources(cwd: string, opts: TfOptions = {}): Promise<StateResource[]> {
  const json = await terraformJson<ShowJson>(cwd, ['show', '-json'], opts);
  const root = json.values?.root_module;
  return [...(root?.resources ?? []), ...(root?.child_modules ?? []).flatMap((m) => m.resources ?? [])];
}

/** Output values by name (`terraform output -json`), sensitive ones included. */
export async function outputs(cwd: string, opts: TfOptions = {}): Promise<Record<string, unknown>> {
  const json = await terraformJson<Record<string, { value: unknown }>>(cwd, ['output', '-json'], opts);
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, v.value]));
}

/** `terraform plan -detailed-exitcode`: true when the plan is empty (exit 0), false when it has changes (2); throws on errors. */
export async function planIsEmpty(cwd: string, opts: TfOptions = {}): Promise<{ empty: boolean; run: TfRun }> {
  const run = await terraform(cwd, ['plan', '-input=false', '-detailed-exitcode'], opts);
  if (run.code !== 0 && run.code !== 2) throw new Error(`terraform plan failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  return { empty: run.code === 0, run };
}
