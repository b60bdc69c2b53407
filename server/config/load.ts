import { readFileSync } from 'node:fs';
import { ServerConfigSchema, type ServerConfig, type ServerConfigInput } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CFG_ERR_INVALID';
  constructor(
    readonly problems: readonly string[],
    source: string,
  ) {
    super(`configuration ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * More checks of the raw document whose problems are reported with the schema's (the files it names:
 * server/init/check-files.ts). A hook, so this folder stays free of what the checks need.
 */
export type ConfigCheck = (doc: unknown) => readonly string[];

/** Validates a configuration object; reports every problem with its path in one error; returns it frozen. */
export function parseConfig(input: unknown, source = '(inline)', check?: ConfigCheck): Readonly<ServerConfig> {
  const result = ServerConfigSchema.safeParse(input);
  const problems = result.success ? [] : result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  problems.push(...(check?.(input) ?? []));
  if (!result.success || problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(result.data);
}

/** The configuration file's JSON, not yet validated; a file that cannot be read or parsed is a ConfigError. */
export function readConfigDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read file: ${(err as Error).message}`], path);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`not valid JSON: ${(err as Error).message}`], path);
  }
}

export function loadConfigFile(path: string, check?: ConfigCheck): Readonly<ServerConfig> {
  return parseConfig(readConfigDocument(path), path, check);
}

export type { ServerConfig, ServerConfigInput };
