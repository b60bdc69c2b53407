/**
 * Runs the real terraform CLI against the fake providers: no TTY, no prompts, bounded time (the
 * whole process group is killed on timeout), colour codes removed from what it printed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { requirement } from '../env.js';
import { installFakeProviders } from './install.js';

export interface TfRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface TfOptions {
  /** Added to (and overriding) the environment: FAKE_TF_* settings, TF_LOG... */
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Written to stdin (otherwise stdin is closed). */
  readonly input?: string;
}

export const TERRAFORM = process.env['TERRAFORM_BIN'] ?? 'terraform';
const DEFAULT_TIMEOUT_MS = 120_000;

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
export const stripAnsi = (text: string) => text.replace(ANSI, '');

let availability: { reason: string | undefined; version: string | undefined } | undefined;

function probeTerraform(): { ok: boolean; version: string | undefined; why: string } {
  try {
    const out = execFileSync(TERRAFORM, ['version', '-json'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const version = (JSON.parse(out) as { terraform_version?: string }).terraform_version;
    execFileSync('openssl', ['version'], { stdio: 'ignore', timeout: 20_000 });
    return { ok: true, version, why: '' };
  } catch (e) {
    return { ok: false, version: undefined, why: (e as Error).message.split('\n')[0] ?? '' };
  }
}

/**
 * Why the Terraform tests cannot run here, or undefined when they can (terraform and openssl on
 * PATH). Skips with a visible reason on a laptop; throws under CI=true.
 */
export function terraformAvailable(): string | undefined {
  if (!availability) {
    const probe = probeTerraform();
    availability = { reason: requirement('terraform CLI (with openssl)', probe.ok, `put Terraform 1.11.x and openssl on PATH, or set TERRAFORM_BIN: ${probe.why}`), version: probe.version };
  }
  return availability.reason;
}

export function terraformVersion(): string | undefined {
  terraformAvailable();
  return availability?.version;
}

/** Environment variables from the caller's shell that would change what terraform does. */
const DROPPED_ENV = /^(TF_CLI_ARGS.*|TF_DATA_DIR|TF_WORKSPACE|TF_CLI_CONFIG_FILE|TF_PLUGIN_CACHE_DIR|TF_LOG_PATH)$/;

export async function terraform(cwd: string, args: readonly string[], opts: TfOptions = {}): Promise<TfRun> {
  const install = await installFakeProviders();
  const base = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !DROPPED_ENV.test(k))) as Record<string, string>;
  const env = { ...base, ...install.env, ...opts.env };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout also ends the provider processes terraform started.
    const child = spawn(TERRAFORM, args, { cwd, env, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => stdout.push(b));
    child.stderr?.on('data', (b: Buffer) => stderr.push(b));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const run: TfRun = {
        code: code ?? (signal ? 128 : 1),
        stdout: stripAnsi(Buffer.concat(stdout).toString('utf8')),
        stderr: stripAnsi(Buffer.concat(stderr).toString('utf8')) + (timedOut ? `\n[harness] terraform ${args.join(' ')} killed after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms\n` : ''),
        ms: Math.round(performance.now() - started),
      };
      resolve(run);
    });
  });
}

/** Like terraform(), but a non-zero exit is an error that carries what terraform printed. */
export async function terraformOk(cwd: string, args: readonly string[], opts: TfOptions = {}): Promise<TfRun> {
  const run = await terraform(cwd, args, opts);
  if (run.code !== 0) throw new Error(`terraform ${args.join(' ')} exited ${run.code} after ${run.ms} ms in ${cwd}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  return run;
}
