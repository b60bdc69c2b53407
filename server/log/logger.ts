/**
 * The one pino factory. Redaction paths cover every field name under which a secret could ever be
 * passed to a log call; the rest of the code never logs key material, tokens or API keys at all.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const REDACT_PATHS: readonly string[] = [
  'key',
  'keyMaterial',
  'material',
  'plaintext',
  'ciphertext',
  'token',
  'accessToken',
  'access_token',
  'apiKey',
  'apikey',
  'password',
  'passphrase',
  'authorization',
  'headers.authorization',
  '*.key',
  '*.keyMaterial',
  '*.plaintext',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.authorization',
];

/**
 * Standard output, buffered: one write per 8 KB or per 200 ms instead of one per line (an audit
 * line per request made that write the costliest call of a Get). pino flushes it synchronously when
 * the process exits. Lines go in as Buffers: in text mode the writer appends each line to one
 * growing string and measures that string's byte length on every write, copying up to 16 KB per
 * line (a seventh of everything a Get allocated).
 */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 8192, periodicFlush: 200, contentMode: 'buffer' });
  // sonic-boom types its write as taking a string; in buffer mode it takes Buffers.
  return { write: (line: string) => void destination.write(Buffer.from(line, 'utf8') as unknown as string) };
}

export interface Loggers {
  /** For everything; redacts the paths above as a second line of defence. */
  readonly logger: Logger;
  /**
   * For audit lines only: one per batch item, built field by field from values that are never
   * secret (tenant, fingerprint, operation, object id, result), so it skips redaction, whose cost
   * was a tenth of a Get.
   */
  readonly audit: Logger;
}

function options(level: LogLevel, name: string): pino.LoggerOptions {
  return {
    level,
    name,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.epochTime,
    formatters: { level: (label) => ({ level: label }) },
  };
}

export function createLoggers(opts: { level: LogLevel; name?: string }, destination: DestinationStream = bufferedStdout()): Loggers {
  const name = opts.name ?? 'kmip-server';
  return {
    logger: pino({ ...options(opts.level, name), redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } }, destination),
    audit: pino(options(opts.level, name), destination),
  };
}

export function createLogger(opts: { level: LogLevel; name?: string }, destination?: DestinationStream): Logger {
  return createLoggers(opts, destination).logger;
}

/** A safe summary of an error for a log line: class, stable code and message, never attached data. */
export function errorSummary(err: unknown): { type: string; code?: string; message: string; cause?: unknown } | undefined {
  if (err === undefined || err === null) return undefined;
  if (!(err instanceof Error)) return { type: typeof err, message: String(err).slice(0, 200) };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: err.message.slice(0, 500),
    ...(err.cause !== undefined ? { cause: errorSummary(err.cause) } : {}),
  };
}
