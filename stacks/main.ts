/**
 * cdktf app entry (cdktf.json "app"): one stack per environment and region of the config file.
 *
 *   npx -p cdktf-cli@0.21.0 cdktf deploy kmip-prod-us-south            (reads kmip.config.json)
 *   npm run synth -- --config kmip.config.json                          (no cdktf-cli: writes cdktf.out/)
 *
 * The config file is `--config FILE`, else KMIP_CONFIG, else kmip.config.json; KMIP_STACKS
 * (comma-separated stack names) limits what is built.
 * Relative paths in the config are relative to the directory this runs in (the project root).
 */
import { App } from 'cdktf';
import { StacksConfigError, loadStacksConfig } from './config.js';
import { buildStacks } from './kmip-stack.js';
import { PkiError } from './pki.js';

const flag = process.argv.indexOf('--config');
const configFile = (flag > 0 ? process.argv[flag + 1] : undefined) ?? process.env['KMIP_CONFIG'] ?? 'kmip.config.json';
const only = (process.env['KMIP_STACKS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);

try {
  const config = loadStacksConfig(configFile);
  const app = new App();
  const stacks = buildStacks(app, config, { only });
  if (stacks.length === 0) throw new StacksConfigError([`no stack matches KMIP_STACKS=${only.join(',')}`], configFile);
  app.synth();
  process.stderr.write(`synthesized ${stacks.map((s) => s.stackName).join(', ')} into ${app.outdir}\n`);
} catch (err) {
  if (err instanceof StacksConfigError || err instanceof PkiError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
