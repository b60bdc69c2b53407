#!/usr/bin/env node
/**
 * kmip-server: `--config FILE` for production, `--dev [--data-dir DIR]` for the embedded default.
 * SIGTERM and SIGINT drain: in-flight requests finish, new connections are refused.
 */
import { parseArgs } from 'node:util';
import { createApp } from './app.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import { prepareDevEnvironment, registerDevClient, writeDevAdminFile } from './dev/embedded.js';
import { errorSummary } from './log/logger.js';
import { tuneHeap } from './heap-tuning.js';

const USAGE = `usage:
  kmip-server --config FILE
  kmip-server --dev [--data-dir DIR] [--database-url URL] [--host HOST] [--port PORT] [--admin-port PORT] [--log-level LEVEL]

  --config FILE      production: JSON configuration file (see README "Configuration")
  --dev              embedded default: SQLite, local root key, development PKI in DIR
  --data-dir DIR     data folder of the embedded default (default .kmip-dev)
  --database-url URL PostgreSQL instead of DIR/kmip.db; nodes sharing DIR and URL form a cluster
  --host HOST        KMIP listen address in --dev mode (default 127.0.0.1)
  --port PORT        KMIP port in --dev mode (default 5696; 0 picks a free port)
  --admin-port PORT  admin HTTP port in --dev mode (default 9696; 0 picks a free port)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (default info)`;

function fail(message: string, code = 2): never {
  process.stderr.write(`kmip-server: ${message}\n`);
  process.exit(code);
}

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number (0-65535), got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  tuneHeap();
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string' },
        dev: { type: 'boolean', default: false },
        'data-dir': { type: 'string', default: '.kmip-dev' },
        'database-url': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.dev === (values.config !== undefined)) fail(`give exactly one of --config FILE or --dev\n${USAGE}`);
  if (values['database-url'] !== undefined && !values.dev) fail('--database-url belongs to --dev; production nodes set store.url in the config file');
  if (values['database-url'] !== undefined && !/^postgres(ql)?:\/\//.test(values['database-url'])) fail('--database-url must be a postgres:// URL');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !(levels as readonly string[]).includes(logLevel)) fail(`--log-level must be one of ${levels.join(', ')}`);

  let config;
  let dev;
  try {
    if (values.dev) {
      dev = prepareDevEnvironment({
        dataDir: values['data-dir'],
        databaseUrl: values['database-url'],
        host: values.host ?? '127.0.0.1',
        port: parsePort('--port', values.port, 5696),
        adminPort: parsePort('--admin-port', values['admin-port'], 9696),
        ...(logLevel ? { logLevel: logLevel as (typeof levels)[number] } : {}),
      });
      config = dev.config;
    } else {
      config = loadConfigFile(values.config!);
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOSPC') {
      const why = { EROFS: 'it is on a read-only file system', EACCES: 'permission denied', EPERM: 'permission denied', ENOSPC: 'the disk is full' }[code];
      fail(`cannot use the data folder ${values['data-dir']}: ${why} (${(err as Error).message})`, 1);
    }
    throw err;
  }

  let app;
  try {
    app = await createApp({ config });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    fail(`cannot start: ${(err as Error).message}`, 1);
  }
  if (dev) await registerDevClient(app.store, dev.pki);
  let ports;
  try {
    ports = await app.start();
  } catch (err) {
    await app.stop().catch(() => undefined);
    fail(`cannot listen: ${(err as Error).message}`, 1);
  }

  if (dev) {
    if (ports.adminPort !== undefined) writeDevAdminFile(dev.dataDir, ports.adminPort);
    const p = dev.pki;
    process.stderr.write(
      [
        '',
        `KMIP server (embedded default) listening on ${config.listen.host}:${ports.kmipPort}`,
        `  admin:              http://${config.admin.host}:${ports.adminPort}/healthz  /readyz  /metrics`,
        `  server CA:          ${p.caCert}`,
        `  client certificate: ${p.clientCert}`,
        `  client key:         ${p.clientKey}`,
        `  data:               ${config.store.kind === 'sqlite' ? config.store.path : 'PostgreSQL'}, root key ${dev.rootKeyFile}`,
        '  the client certificate is registered to tenant "dev"',
        `  manage it:          npm run kmipctl -- --dev --data-dir ${dev.dataDir} tenant list   (kmipctl when installed)`,
        '',
      ].join('\n') + '\n',
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      app.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.logger.error({ error: errorSummary(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`kmip-server: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
