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

export function createLogger(options: { level: LogLevel; name?: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'kmip-server',
      base: { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
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
