/**
 * Entry point of the fake provider program (bundled into one .mjs by ../build.ts):
 *   node provider.mjs --provider ibm|time --root <repo> --tls-dir <dir> [--proto-dir <dir>]
 * Terraform starts it through a launcher script in the filesystem mirror. Environment:
 *   FAKE_TF_CLOUD_FILE  fake cloud store (JSON); FAKE_TF_LOG operation log (JSON lines);
 *   FAKE_TF_FAIL        injected failures (JSON); FAKE_TF_SEED deterministic ids;
 *   FAKE_TF_SLEEP_SCALE real-time factor for time_sleep (default 0).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ProviderDefinition } from './definition.js';
import { Engine } from './engine.js';
import { FailureInjector, parseFailureSpecs } from './failures.js';
import { ibmProvider } from './ibm.js';
import { OperationLog } from './oplog.js';
import { loadProtocol, log, servePlugin } from './plugin-server.js';
import { providerService } from './rpc.js';
import { schemaFiles } from './schema-files.js';
import { CloudStore } from './store.js';
import { timeProvider } from './time.js';

const { values: args } = parseArgs({
  options: { provider: { type: 'string' }, root: { type: 'string' }, 'tls-dir': { type: 'string' }, 'proto-dir': { type: 'string' } },
  strict: false,
});
const root = typeof args.root === 'string' ? args.root : process.cwd();
// The AutoMTLS certificate: made once per checkout by install.ts, shared by every start.
const tlsDir = typeof args['tls-dir'] === 'string' ? args['tls-dir'] : join(root, 'node_modules/.cache/kmip-fake-tf/tls');
// The install copies the proto files beside the bundle (install.ts); --proto-dir is for running from source.
const protoDir = typeof args['proto-dir'] === 'string' ? args['proto-dir'] : join(dirname(fileURLToPath(import.meta.url)), 'proto');

function definition(name: unknown): ProviderDefinition {
  const files = schemaFiles(root);
  if (name === 'ibm') return ibmProvider({ schemaFile: files.ibmSchema, rulesFile: files.ibmRules });
  if (name === 'time') return timeProvider(files.timeSchema, files.timeRules);
  throw new Error(`--provider must be ibm or time, not ${String(name)}`);
}

try {
  const def = definition(args.provider);
  const store = new CloudStore(process.env['FAKE_TF_CLOUD_FILE'] || undefined);
  const engine = new Engine(def, {
    store,
    log: new OperationLog(process.env['FAKE_TF_LOG'] || undefined),
    failures: new FailureInjector(parseFailureSpecs(process.env['FAKE_TF_FAIL']), store),
    seed: process.env['FAKE_TF_SEED'] || undefined,
    caCertPem: readFileSync(join(tlsDir, 'cert.pem'), 'utf8'),
  });
  await servePlugin(loadProtocol(protoDir), providerService(engine), { certFile: join(tlsDir, 'cert.pem'), keyFile: join(tlsDir, 'key.pem') });
} catch (e) {
  log(`cannot start: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
}
