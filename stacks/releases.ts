/**
 * What each node of a stack runs, recorded per zone, so that a new server bundle, certificate or setting never
 * replaces every node in one apply.
 *
 * Everything that reaches a node's user data or its instance profile (and so replaces or restarts the node) is
 * a node release: the hashes of its assets and its literal settings. `<pkiDir>/<stack>/releases.json` records
 * the release each zone runs. A synth renders every node from its zone's recorded release, never from the
 * newest files, so a plain `cdktf deploy` after a change uploads the new assets and replaces nothing; only
 * `npm run roll -- <stack>` (scripts/roll.ts) advances one zone at a time, waiting for that node's /readyz
 * before the next. A zone seen for the first time (a new stack, an added zone) is recorded at the current
 * release.
 *
 * Old releases stay deployable: every asset file is kept, content-addressed, in `<pkiDir>/<stack>/releases/`,
 * and the asset bucket keeps every object a recorded release names.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const RELEASES_FORMAT = 'kmip-for-vmware/releases/v1';

/** One asset of a release: content address and the file name it was uploaded under. */
export interface ReleaseAsset {
  readonly sha256: string;
  readonly name: string;
}

/** The literal settings of a node that change its user data or its instance. */
export interface NodeSettings {
  readonly profile: string;
  readonly bootVolumeGb: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly keyProtectCacheSeconds: number;
  readonly identityCacheSeconds: number;
  readonly databasePoolSize: number;
  readonly maxConnections: number;
}

export interface NodeRelease {
  /** Asset id (server-bundle, tls-ticket-keys, tls-admin-ca, tls-cert, tls-key) → content. */
  readonly assets: Readonly<Record<string, ReleaseAsset>>;
  readonly settings: NodeSettings;
}

interface ZoneRecord {
  readonly id: string;
  readonly since: string;
  readonly release: NodeRelease;
}

interface ReleasesFile {
  readonly format: typeof RELEASES_FORMAT;
  readonly zones: Record<string, ZoneRecord>;
}

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
  readonly code = 'STACKS_ERR_RELEASE';
}

/** Canonical JSON (sorted keys) so equal releases have equal ids whatever order they were built in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function releaseId(release: NodeRelease): string {
  return createHash('sha256').update(canonical(release)).digest('hex').slice(0, 16);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function releasePaths(stackPkiDir: string) {
  return { file: join(stackPkiDir, 'releases.json'), store: join(stackPkiDir, 'releases') };
}

/** Where the content of an asset is kept: `<store>/<sha256>-<name>`. */
export function storedAssetFile(stackPkiDir: string, asset: ReleaseAsset): string {
  return join(releasePaths(stackPkiDir).store, `${asset.sha256}-${asset.name}`);
}

/** Copies each current asset file into the store (once per content) and describes it. */
export function storeAssets(stackPkiDir: string, files: Readonly<Record<string, string>>): Record<string, ReleaseAsset> {
  const out: Record<string, ReleaseAsset> = {};
  mkdirSync(releasePaths(stackPkiDir).store, { recursive: true, mode: 0o700 });
  for (const [id, file] of Object.entries(files)) {
    let sha256: string;
    try {
      sha256 = sha256File(file);
    } catch (err) {
      throw new ReleaseError(`asset ${id}: cannot read ${file}: ${(err as Error).message}`);
    }
    const asset = { sha256, name: basename(file) };
    const kept = storedAssetFile(stackPkiDir, asset);
    if (!existsSync(kept)) {
      const tmp = `${kept}.part`;
      copyFileSync(file, tmp);
      renameSync(tmp, kept);
    }
    out[id] = asset;
  }
  return out;
}

export function readReleases(stackPkiDir: string): Record<string, ZoneRecord> {
  const { file } = releasePaths(stackPkiDir);
  if (!existsSync(file)) return {};
  let doc: ReleasesFile;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as ReleasesFile;
  } catch (err) {
    throw new ReleaseError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (doc.format !== RELEASES_FORMAT || typeof doc.zones !== 'object' || doc.zones === null) throw new ReleaseError(`${file} is not a ${RELEASES_FORMAT} document`);
  for (const [zone, rec] of Object.entries(doc.zones)) {
    if (!rec?.release?.assets || !rec.release.settings || releaseId(rec.release) !== rec.id) throw new ReleaseError(`${file}: the record of ${zone} is damaged (its id does not match its content)`);
  }
  return doc.zones;
}

function writeReleases(stackPkiDir: string, zones: Record<string, ZoneRecord>): void {
  const { file } = releasePaths(stackPkiDir);
  const doc: ReleasesFile = { format: RELEASES_FORMAT, zones };
  const tmp = `${file}.${process.pid}.part`;
  writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export interface ZoneReleasePlan {
  readonly zone: string;
  /** What the node runs (recorded). */
  readonly running: NodeRelease;
  readonly runningId: string;
  /** What a roll would move it to. */
  readonly currentId: string;
  readonly upToDate: boolean;
  /** Every asset of the recorded release must exist in the store, or the node could not be rebuilt. */
  readonly assetFiles: Readonly<Record<string, string>>;
}

/**
 * The release each zone runs: the recorded one, or `current` for a zone not recorded yet (which is then
 * recorded). Zones of the file that the stack no longer has are dropped.
 */
export function resolveReleases(stackPkiDir: string, zones: readonly string[], current: (zone: string) => NodeRelease, now: () => Date = () => new Date()): ZoneReleasePlan[] {
  const recorded = readReleases(stackPkiDir);
  const next: Record<string, ZoneRecord> = {};
  let changed = false;
  const plans = zones.map((zone) => {
    const cur = current(zone);
    const curId = releaseId(cur);
    let rec = recorded[zone];
    if (!rec) {
      rec = { id: curId, since: now().toISOString(), release: cur };
      changed = true;
    }
    next[zone] = rec;
    const assetFiles: Record<string, string> = {};
    for (const [id, asset] of Object.entries(rec.release.assets)) {
      const f = storedAssetFile(stackPkiDir, asset);
      if (!existsSync(f)) throw new ReleaseError(`${zone} runs ${asset.name} ${asset.sha256.slice(0, 12)}…, but ${f} is gone: restore it from a backup of ${stackPkiDir}, or roll ${zone} forward`);
      assetFiles[id] = f;
    }
    return { zone, running: rec.release, runningId: rec.id, currentId: curId, upToDate: rec.id === curId, assetFiles };
  });
  if (Object.keys(recorded).some((z) => !zones.includes(z))) changed = true;
  if (changed) writeReleases(stackPkiDir, next);
  return plans;
}

/**
 * Removes kept asset files no release needs any more (neither a zone's recorded one nor `current`): superseded
 * node keys must not pile up beside the PKI. Returns the files removed.
 */
export function pruneStore(stackPkiDir: string, current: readonly NodeRelease[]): string[] {
  const { store } = releasePaths(stackPkiDir);
  if (!existsSync(store)) return [];
  const keep = new Set([...Object.values(readReleases(stackPkiDir)).map((r) => r.release), ...current].flatMap((r) => Object.values(r.assets).map((a) => `${a.sha256}-${a.name}`)));
  const removed: string[] = [];
  for (const name of readdirSync(store)) {
    if (keep.has(name)) continue;
    rmSync(join(store, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Records `release` as what `zone` runs (the roll's one write). */
export function advanceZone(stackPkiDir: string, zone: string, release: NodeRelease, now: () => Date = () => new Date()): string {
  const zones = readReleases(stackPkiDir);
  const id = releaseId(release);
  zones[zone] = { id, since: now().toISOString(), release };
  writeReleases(stackPkiDir, zones);
  return id;
}
