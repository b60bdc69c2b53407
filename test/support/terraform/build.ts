/**
 * Bundles the fake provider program (provider/main.ts and everything it imports, grpc-js included)
 * into one ESM file, so each of the several starts per terraform command loads one file instead
 * of resolving hundreds of modules.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

export const SUPPORT_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PROVIDER_SOURCE_DIR = join(SUPPORT_DIR, 'provider');
export const PROTO_DIR = join(SUPPORT_DIR, 'proto');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort();
}

/**
 * Names a build: the provider sources, the proto files and the toolchain. Schemas and rules are not
 * in it: the provider reads them at start.
 */
export function providerSourceHash(): string {
  const hash = createHash('sha256');
  hash.update(`esbuild ${esbuildVersion}\0node ${process.execPath} ${process.version}\0`);
  for (const file of [...filesUnder(PROVIDER_SOURCE_DIR), ...filesUnder(PROTO_DIR), join(SUPPORT_DIR, 'build.ts'), join(SUPPORT_DIR, 'install.ts')]) {
    hash.update(relative(SUPPORT_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export async function bundleProvider(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(PROVIDER_SOURCE_DIR, 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // grpc-js and protobufjs are CommonJS and call require() for Node built-ins.
    banner: { js: "import { createRequire as __fakeTfRequire } from 'node:module'; const require = __fakeTfRequire(import.meta.url);" },
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'error',
  });
}
