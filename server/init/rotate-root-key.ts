/**
 * `kmip-server rotate-root-key --config FILE`: adds a new version to the local root key file and makes
 * it current. Earlier versions stay in the file, so everything wrapped under them still unwraps; new
 * and rewrapped material uses the new one. Servers read the file at start: restart each node (with
 * the new file copied to it), then `kmipctl rewrap` moves every stored key to the new version.
 */
import { ConfigError, loadConfigFile } from '../config/load.js';
import { rotateLocalRootKey } from '../wrap/local.js';
import { checkFile } from './check-files.js';
import type { InitOutcome } from './init.js';

export function runRotateRootKey(configFile: string): InitOutcome {
  let wrap;
  try {
    wrap = loadConfigFile(configFile).wrap;
  } catch (err) {
    if (err instanceof ConfigError) return { code: 2, lines: [err.message] };
    throw err;
  }
  if (wrap.kind !== 'local') {
    return {
      code: 2,
      lines: [`the root key of ${configFile} is in Key Protect (wrap.kind "${wrap.kind}"): rotate it there (Key Protect rotates keys in place), then run kmipctl rewrap`],
    };
  }
  const state = checkFile({ at: 'wrap.keyFile', file: wrap.keyFile, kind: 'root-key', what: 'local root key' });
  if (state.state !== 'ok') return { code: 2, lines: [`wrap.keyFile: ${wrap.keyFile} ${state.reason}`] };
  let version: string;
  try {
    version = rotateLocalRootKey(wrap.keyFile);
  } catch (err) {
    return { code: 1, lines: [`cannot rotate ${wrap.keyFile}: ${(err as Error).message}`] };
  }
  return {
    code: 0,
    lines: [
      `root key ${wrap.keyFile}: version ${version} is now current; the earlier versions stay in the file and still unwrap`,
      'next:',
      '  1. copy the file to every node that uses it (mode 0600), then restart each node: servers read it at start',
      '  2. kmipctl rewrap   moves every stored key to the new version (resumable with --after ID)',
      '  3. keep the earlier versions while any backup made before this rotation may be restored',
    ],
  };
}
