/**
 * Test harness: real `terraform` against the fake `ibm-cloud/ibm` 1.89.0 and `hashicorp/time`
 * 0.13.1 providers (test/support/terraform/provider/), in throw-away workspaces.
 *
 *   const reason = terraformAvailable();              // describe.skipIf(reason)
 *   const ws = await workspace('cdktf.out/stacks/kmip-dev-us-east');
 *   await ws.ok(['init', '-input=false']);
 *   const { changed } = await ws.plan();               // [{address, actions, replacePaths, ...}]
 *   await ws.ok(['apply', '-auto-approve', '-input=false']);
 *   ws.operations();                                   // what the fake cloud did, in order
 *
 * Workspace layout: a synthesized stack is copied to <root>/cdktf.out/stacks/<name>/, the same
 * depth as in cdktf's own output, so the local backend path cdktf writes
 * ("../../../terraform.<stack>.tfstate") resolves to <root>/terraform.<stack>.tfstate inside the
 * temporary root. Nothing in the configuration is rewritten. The fake cloud (FAKE_TF_CLOUD_FILE)
 * and the operation log (FAKE_TF_LOG) are <root>/cloud.json and <root>/operations.jsonl.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { OpRecord } from './provider/oplog.js';
import { readCloudFile, updateCloudFile, type CloudData, type CloudObject } from './provider/store.js';
import { terraform, terraformOk, type TfOptions, type TfRun } from './run.js';
import { planChanges, planIsEmpty, type PlanResult } from './terraform-json.js';

export { installFakeProviders, type FakeProviderInstall } from './install.js';
export { stripAnsi, terraform, terraformAvailable, terraformOk, terraformVersion, type TfOptions, type TfRun } from './run.js';
export { outputs, planChanges, planIsEmpty, stateResources, terraformJson, type ChangeAction, type PlannedChange, type PlanResult, type StateResource } from './terraform-json.js';
export type { OpRecord } from './provider/oplog.js';
export type { CloudData, CloudObject } from './provider/store.js';

/** The operation log written by the fake providers (FAKE_TF_LOG), in file order; [] when nothing was logged. */
export function readOperationLog(file: string): OpRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OpRecord);
}

export interface Workspace {
  /** Temporary root: state file, fake cloud, operation log. */
  readonly root: string;
  /** Where terraform runs (the configuration). */
  readonly dir: string;
  readonly cloudFile: string;
  readonly logFile: string;
  /** FAKE_TF_CLOUD_FILE and FAKE_TF_LOG (plus what was passed to workspace()). */
  readonly env: Record<string, string>;
  run(args: readonly string[], opts?: TfOptions): Promise<TfRun>;
  /** Like run, but a non-zero exit throws with terraform's output. */
  ok(args: readonly string[], opts?: TfOptions): Promise<TfRun>;
  plan(opts?: TfOptions & { readonly planArgs?: readonly string[] }): Promise<PlanResult>;
  planIsEmpty(opts?: TfOptions): Promise<{ empty: boolean; run: TfRun }>;
  operations(): OpRecord[];
  cloud(): CloudData;
  /** Deletes objects from the fake cloud behind Terraform's back (drift): all of a type, or those matching; returns how many went. */
  removeFromCloud(match: string | ((object: CloudObject) => boolean)): number;
  /** Any other change to the fake cloud between terraform commands. */
  editCloud(change: (data: CloudData) => void): void;
  /** Replaces the configuration (JSON) for the next command. */
  writeConfig(config: object | string): void;
  dispose(): void;
}

export type WorkspaceSource = string | object;

function isStackDir(source: string): boolean {
  return existsSync(source) && statSync(source).isDirectory();
}

/**
 * A fresh workspace from a synthesized stack folder (cdk.tf.json + assets/), a JSON file, a JSON
 * text, or a configuration object.
 */
export function workspace(source: WorkspaceSource, opts: { readonly name?: string; readonly env?: Record<string, string> } = {}): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'kmip-tfws-'));
  const fromDir = typeof source === 'string' && isStackDir(source);
  const name = opts.name ?? (fromDir ? basename(source as string) : 'stack');
  const dir = join(root, 'cdktf.out', 'stacks', name);
  mkdirSync(dir, { recursive: true });
  let configFile = join(dir, 'main.tf.json');
  if (fromDir) {
    cpSync(source as string, dir, {
      recursive: true,
      filter: (src) => !/(^|\/)(\.terraform|terraform\.tfstate[^/]*|\.terraform\.lock\.hcl|[^/]*\.tfplan)$/.test(src),
    });
    if (existsSync(join(dir, 'cdk.tf.json'))) configFile = join(dir, 'cdk.tf.json');
  }
  const writeConfig = (config: object | string) => {
    const text = typeof config === 'string' ? (existsSync(config) ? readFileSync(config, 'utf8') : config) : JSON.stringify(config, null, 2);
    writeFileSync(configFile, text);
  };
  if (!fromDir) writeConfig(source);

  const cloudFile = join(root, 'cloud.json');
  const logFile = join(root, 'operations.jsonl');
  const env = { FAKE_TF_CLOUD_FILE: cloudFile, FAKE_TF_LOG: logFile, ...opts.env };
  const withEnv = (o: TfOptions = {}): TfOptions => ({ ...o, env: { ...env, ...o.env } });

  return {
    root,
    dir,
    cloudFile,
    logFile,
    env,
    run: (args, o) => terraform(dir, args, withEnv(o)),
    ok: (args, o) => terraformOk(dir, args, withEnv(o)),
    plan: (o) => planChanges(dir, { ...withEnv(o), ...(o?.planArgs ? { planArgs: o.planArgs } : {}) }),
    planIsEmpty: (o) => planIsEmpty(dir, withEnv(o)),
    operations: () => readOperationLog(logFile),
    cloud: () => readCloudFile(cloudFile),
    removeFromCloud: (match) =>
      updateCloudFile(cloudFile, (data) => {
        const matches = typeof match === 'string' ? (o: CloudObject) => o.type === match : match;
        const gone = Object.entries(data.objects).filter(([, o]) => matches(o));
        for (const [key] of gone) delete data.objects[key];
        return gone.length;
      }),
    editCloud: (change) => updateCloudFile(cloudFile, change),
    writeConfig,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
