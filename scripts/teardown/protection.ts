/**
 * Lifting the destroy protection of one stack, and only that one.
 *
 * The config's `destroyProtection` is per environment, so flipping it (or synthesizing the whole app)
 * would unprotect every region of the environment. Instead the stack is synthesized alone, with the
 * protection lifted, into a scratch folder first (`prepareUnprotected`, before any step runs, so a config,
 * PKI or bundle problem stops the teardown before it touches a server); the result is checked, and only then
 * copied over `<outDir>/stacks/<stack>/` (`installUnprotected`). Other stacks' folders are never written.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import type { StacksConfig } from '../../stacks/config.js';
import { buildStacks } from '../../stacks/kmip-stack.js';

export interface PreparedStack {
  readonly stack: string;
  /** Scratch cdktf output holding only this stack, protection lifted. */
  readonly scratchDir: string;
  /** Zone names in plan order, and the synthesized `admin_endpoints` output in the same order. */
  readonly zones: readonly string[];
  readonly adminEndpoints: readonly string[];
  /** Terraform address of the database, whose own deletion_protection needs an apply before destroy. */
  readonly databaseAddress: string;
  /**
   * Key Protect's resources (instance, key ring, root key, key policies): never destroyed by a teardown. They
   * keep prevent_destroy and are taken out of the Terraform state before the destroy, so the root key that
   * wraps every object in the backup outlives the stack.
   */
  readonly retainedAddresses: readonly string[];
  readonly warnings: readonly string[];
}

/** Construct path segment of the Key Protect module in a stack (stacks/kmip-stack.ts). */
export const KEY_PROTECT_CONSTRUCT = 'KeyProtect';

interface SynthDoc {
  resource?: Record<string, Record<string, Record<string, unknown> & { '//'?: { metadata?: { path?: string } } }>>;
  output?: Record<string, { value: unknown }>;
}

/** Terraform addresses of the resources a teardown keeps (Key Protect's), from their construct paths. */
export function retainedOf(doc: SynthDoc): string[] {
  const found: string[] = [];
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    for (const [name, r] of Object.entries(byName)) {
      if ((r['//']?.metadata?.path ?? '').split('/')[1] === KEY_PROTECT_CONSTRUCT) found.push(`${type}.${name}`);
    }
  }
  return found.sort();
}

/** What in a synthesized stack still resists a destroy, beyond what is retained: prevent_destroy, a protected database. */
export function protectionsOf(doc: SynthDoc, retained: readonly string[] = retainedOf(doc)): string[] {
  const found: string[] = [];
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    for (const [name, r] of Object.entries(byName)) {
      if (retained.includes(`${type}.${name}`)) continue;
      if ((r['lifecycle'] as { prevent_destroy?: unknown } | undefined)?.prevent_destroy) found.push(`${type}.${name} (prevent_destroy)`);
      if (type === 'ibm_database' && r['deletion_protection'] !== false) found.push(`${type}.${name} (deletion_protection)`);
    }
  }
  return found;
}

export function prepareUnprotected(config: StacksConfig, stack: string): PreparedStack {
  const scratchDir = mkdtempSync(join(tmpdir(), `kmip-teardown-${stack}-`));
  try {
    return synthesizeUnprotected(config, stack, scratchDir);
  } catch (err) {
    rmSync(scratchDir, { recursive: true, force: true });
    throw err;
  }
}

function synthesizeUnprotected(config: StacksConfig, stack: string, scratchDir: string): PreparedStack {
  const app = new App({ outdir: scratchDir });
  const [built] = buildStacks(app, config, { only: [stack], unprotect: [stack] });
  if (!built) throw new Error(`no stack ${stack} in the config`);
  app.synth();
  const doc = JSON.parse(readFileSync(join(scratchDir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as SynthDoc;
  const left = protectionsOf(doc);
  if (left.length) throw new Error(`the synthesized ${stack} is still protected: ${left.join(', ')}`);
  const databases = Object.keys(doc.resource?.['ibm_database'] ?? {});
  if (databases.length !== 1) throw new Error(`expected one ibm_database in ${stack}, found ${databases.length}`);
  const endpoints = doc.output?.['admin_endpoints']?.value;
  if (!Array.isArray(endpoints) || endpoints.length !== built.plan.zoneNames.length || !endpoints.every((e) => typeof e === 'string')) {
    throw new Error(`${stack} has no usable admin_endpoints output`);
  }
  return {
    stack,
    scratchDir,
    zones: built.plan.zoneNames,
    adminEndpoints: endpoints as string[],
    databaseAddress: `ibm_database.${databases[0]}`,
    retainedAddresses: retainedOf(doc),
    warnings: built.pki.warnings,
  };
}

/**
 * Copies the prepared stack over `<outDir>/stacks/<stack>/`: its cdk.tf.json and assets/ are replaced;
 * Terraform's own files there (.terraform/, the lock file) stay. Other stacks' folders are not written.
 */
export function installUnprotected(prepared: PreparedStack, outDir: string): string {
  const from = join(prepared.scratchDir, 'stacks', prepared.stack);
  const to = join(outDir, 'stacks', prepared.stack);
  mkdirSync(to, { recursive: true });
  for (const entry of ['cdk.tf.json', 'assets']) {
    rmSync(join(to, entry), { recursive: true, force: true });
    if (existsSync(join(from, entry))) cpSync(join(from, entry), join(to, entry), { recursive: true });
  }
  writeManifest(outDir, prepared);
  // Read back what Terraform will read: the copy, not the scratch original.
  const left = protectionsOf(JSON.parse(readFileSync(join(to, 'cdk.tf.json'), 'utf8')) as SynthDoc);
  if (left.length) throw new Error(`${join(to, 'cdk.tf.json')} is still protected after the copy: ${left.join(', ')}`);
  return to;
}

interface Manifest {
  version?: string | undefined;
  stacks?: Record<string, unknown>;
}

/**
 * cdktf-cli reads the stacks from manifest.json and deletes every stack folder it does not list, so the
 * manifest must list this stack and every other stack folder present. It is written only when something is
 * missing (usually never: a full synth listed them all), keeping the entries that are there.
 */
function writeManifest(outDir: string, prepared: PreparedStack): void {
  const file = join(outDir, 'manifest.json');
  const scratch = JSON.parse(readFileSync(join(prepared.scratchDir, 'manifest.json'), 'utf8')) as Manifest;
  const manifest: Manifest = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : { version: scratch.version, stacks: {} };
  const stacks = { ...manifest.stacks };
  let changed = !existsSync(file);
  const entry = (name: string) => ({
    name,
    constructPath: name,
    workingDirectory: join('stacks', name),
    synthesizedStackPath: join('stacks', name, 'cdk.tf.json'),
    stackMetadataPath: join('stacks', name, 'metadata.json'),
    annotations: [],
    dependencies: [],
  });
  if (!stacks[prepared.stack]) {
    stacks[prepared.stack] = scratch.stacks?.[prepared.stack] ?? entry(prepared.stack);
    changed = true;
  }
  for (const dir of readdirSync(join(outDir, 'stacks'), { withFileTypes: true })) {
    if (dir.isDirectory() && !stacks[dir.name] && existsSync(join(outDir, 'stacks', dir.name, 'cdk.tf.json'))) {
      stacks[dir.name] = entry(dir.name);
      changed = true;
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify({ ...manifest, stacks }, null, 2)}\n`);
}
