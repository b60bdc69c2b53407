#!/usr/bin/env node
/**
 * kmip-server: `--config FILE` for production, `--dev [--data-dir DIR]` for the embedded default;
 * `init` and `rotate-root-key` make and rotate the files a production configuration names (server/init/).
 * SIGTERM and SIGINT drain: in-flight requests finish, new connections are refused. A database that
 * cannot be reached yet at start is waited for, with the KMIP port closed and the admin port not ready.
 */
import { parseArgs } from 'node:util';
import { WaitingAdminServer } from './admin/waiting.js';
import { createApp, type App } from './app.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import { devClientBanner, prepareDevEnvironment, provisionDevClient, writeDevAdminFile } from './dev/embedded.js';
import { createLoggers, errorSummary } from './log/logger.js';
import { tuneHeap } from './heap-tuning.js';
import { configFileProblems } from './init/check-files.js';
import { runInit } from './init/init.js';
import { runRotateRootKey } from './init/rotate-root-key.js';
import { describeNames, sanProblem } from './pki/server-names.js';
import { describeOpenFailure, failureCause, openWhenReachable } from './store/open-when-reachable.js';

const USAGE = `usage:
  kmip-server --config FILE
  kmip-server init --config FILE [--san NAME|IP]...
  kmip-server rotate-root-key --config FILE
  kmip-server --dev [--data-dir DIR] [--database-url URL] [--host HOST] [--san NAME|IP]... [--port PORT] [--admin-port PORT] [--log-level LEVEL]

  --config FILE      production: JSON configuration file (see README "Production: kmip-server --config FILE");
                     every problem, files it names included, is listed at once (exit 2)
  init               create every missing file the configuration names (root key, server CA and
                     certificates, client CAs, token, ticket keys; secrets 0600, new folders 0700);
                     never replaces a file; lists what it made and kept (exit 0; 2 with the problems)
  rotate-root-key    add a new version to the local root key file and make it current; then restart
                     the nodes and run kmipctl rewrap
  --dev              embedded default: SQLite, local root key, development PKI in DIR
  --data-dir DIR     data folder of the embedded default (default .kmip-dev)
  --database-url URL PostgreSQL instead of DIR/kmip.db; nodes sharing DIR and URL form a cluster
  --host HOST        KMIP listen address in --dev mode (default 127.0.0.1); the development server
                     certificate names it (for 0.0.0.0 or ::, this machine's addresses and host name)
  --san NAME|IP      another name or address for the server certificate (repeatable): --dev issues
                     the development certificate again when the names change; init names its new ones
  --port PORT        KMIP port in --dev mode (default 5696; 0 picks a free port)
  --admin-port PORT  admin HTTP port in --dev mode (default 9696; 0 picks a free port)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (default info)

exit codes: 0 done (a server: stopped by SIGTERM/SIGINT after draining), 1 failed (cannot start, listen or
write), 2 usage error or configuration problems (all of them listed; init and rotate-root-key change nothing)`;

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

/**
 * Test-only, deliberately not a flag nor documented: KMIP_TEST_STORE_RETRY_MS shortens the wait between
 * attempts to reach the database at start (production waits 1 s doubling to 15 s).
 */
function storeRetryForTests(): { baseMs?: number; maxMs?: number } {
  const ms = Number(process.env['KMIP_TEST_STORE_RETRY_MS']);
  return Number.isInteger(ms) && ms > 0 ? { baseMs: ms, maxMs: ms } : {};
}

/** `init` and `rotate-root-key`: file work only, no server; exit codes 0 done, 1 failed, 2 usage or configuration problems. */
function runFileCommand(command: 'init' | 'rotate-root-key', argv: readonly string[]): never {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string' }, san: { type: 'string', multiple: true }, help: { type: 'boolean', default: false } },
      strict: true,
    }));
  } catch (err) {
    fail(`${command}: ${(err as Error).message} (kmip-server --help lists the options)`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.config === undefined) fail(`${command} needs --config FILE (kmip-server --help lists the options)`);
  const san = values.san ?? [];
  if (command !== 'init' && san.length > 0) fail(`${command}: --san belongs to init and --dev`);
  const outcome = command === 'init' ? runInit({ configFile: values.config, san }) : runRotateRootKey(values.config);
  (outcome.code === 0 ? process.stdout : process.stderr).write(outcome.lines.map((l) => (outcome.code === 0 ? l : `kmip-server ${command}: ${l}`)).join('\n') + '\n');
  process.exit(outcome.code);
}

async function main(): Promise<void> {
  tuneHeap();
  const sub = process.argv[2];
  if (sub === 'init' || sub === 'rotate-root-key') runFileCommand(sub, process.argv.slice(3));
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: 'string' },
        san: { type: 'string', multiple: true },
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
  const san = values.san ?? [];
  if (san.length > 0 && !values.dev) fail('--san belongs to --dev and init; a --config server uses the certificate its config names');
  const badSan = san.map(sanProblem).filter((p) => p !== undefined);
  if (badSan.length > 0) fail(badSan.map((p) => `--san: ${p}`).join('\n'));

  let config;
  let dev;
  try {
    if (values.dev) {
      dev = prepareDevEnvironment({
        dataDir: values['data-dir'],
        databaseUrl: values['database-url'],
        host: values.host ?? '127.0.0.1',
        san,
        port: parsePort('--port', values.port, 5696),
        adminPort: parsePort('--admin-port', values['admin-port'], 9696),
        ...(logLevel ? { logLevel: logLevel as (typeof levels)[number] } : {}),
      });
      config = dev.config;
    } else {
      config = loadConfigFile(values.config!, (doc) => configFileProblems(doc, `kmip-server init --config ${values.config} creates it`));
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

  const loggers = createLoggers({ level: config.log.level });
  const { logger } = loggers;
  const giveUp = new AbortController();
  let waiting: WaitingAdminServer | undefined;
  let app: App | undefined;
  let running = false;
  let stopping = false;
  // One handler from the first attempt on: while waiting for the database there is nothing to drain,
  // so a signal ends the process at once (a restart must not wait out a backoff).
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    giveUp.abort();
    if (!running || !app) {
      void (waiting?.close() ?? Promise.resolve()).finally(() => process.exit(0));
      return;
    }
    app.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ error: errorSummary(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    app = await openWhenReachable(() => createApp({ config, loggers }), {
      ...storeRetryForTests(),
      signal: giveUp.signal,
      onRetry: async (err, attempt, delayMs) => {
        logger.warn({ attempt, retryInMs: delayMs, error: errorSummary(err) }, 'database unreachable at start; retrying');
        if (!waiting && config.admin.enabled) {
          waiting = new WaitingAdminServer(config.admin, logger);
          const adminPort = await waiting.start().catch((e: Error) => fail(`cannot listen: ${e.message}`, 1));
          logger.info({ kmip: 'closed', admin: `${config.admin.host}:${adminPort}` }, 'waiting for the database: admin port not ready, KMIP port closed');
        }
        waiting?.failed(failureCause(err));
      },
    });
  } catch (err) {
    if (stopping) return;
    await waiting?.close();
    if (err instanceof ConfigError) fail(err.message);
    fail(`cannot start: ${describeOpenFailure(err)}`, 1);
  }
  if (stopping) return;
  if (waiting) {
    logger.info('database reachable; starting');
    await waiting.close();
  }
  const devClient = dev ? await provisionDevClient(app.store, dev, logger) : undefined;
  let ports;
  try {
    ports = await app.start();
  } catch (err) {
    await app.stop().catch(() => undefined);
    fail(`cannot listen: ${(err as Error).message}`, 1);
  }
  running = true;

  if (dev) {
    if (ports.adminPort !== undefined) writeDevAdminFile(dev.dataDir, ports.adminPort);
    const p = dev.pki;
    process.stderr.write(
      [
        '',
        `KMIP server (embedded default) listening on ${config.listen.host}:${ports.kmipPort}`,
        `  admin:              http://${config.admin.host}:${ports.adminPort}/healthz  /readyz  /metrics`,
        `  server CA:          ${p.caCert}`,
        `  server certificate: ${p.serverCert}${dev.serverReissued ? ' (issued again by the same CA: the names changed)' : ''}`,
        `    names:            ${describeNames(dev.serverNames)}${san.length === 0 ? '   (add more with --san NAME|IP)' : ''}`,
        `  client certificate: ${p.clientCert}`,
        `  client key:         ${p.clientKey}`,
        `  data:               ${config.store.kind === 'sqlite' ? config.store.path : 'PostgreSQL'}, root key ${dev.rootKeyFile}`,
        ...devClientBanner(devClient!, dev),
        `  manage it:          npm run -s kmipctl -- --dev --data-dir ${dev.dataDir} tenant list   (kmipctl when installed)`,
        '',
      ].join('\n') + '\n',
    );
  }
}

main().catch((err) => {
  process.stderr.write(`kmip-server: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
