/** Runs the built server as a child process and reads its banner and logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devPkiPaths } from '../../server/pki/dev-pki.js';
import { noteOutput, notePrivateKeyPem, noteSecret } from './secrets-ledger.js';

/** A --dev server made its root key, admin token and private keys in its data folder: the scan looks for them too. */
function noteDataDirSecrets(args: readonly string[]): void {
  const at = args.indexOf('--data-dir');
  const dataDir = at >= 0 ? args[at + 1] : undefined;
  if (!dataDir) return;
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
  const rootKey = read(join(dataDir, 'root-key.json'));
  if (rootKey) for (const key of Object.values((JSON.parse(rootKey) as { versions: Record<string, string> }).versions)) noteSecret('root key', key);
  noteSecret('admin token', read(join(dataDir, 'admin-token'))?.trim());
  const pki = devPkiPaths(dataDir);
  for (const file of [pki.caKey, pki.serverKey, pki.clientKey]) {
    const pem = read(file);
    if (pem) notePrivateKeyPem('dev PKI private key', pem);
  }
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER_MAIN = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(SERVER_MAIN)) throw new Error('dist/server/main.js is missing: run `npm run build` (npm test does)');
}

export interface RunningServer {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly kmipPort: number;
  readonly adminPort: number;
  /**
   * Sends a signal and resolves when the process and everything holding its output are gone, with
   * its exit code (null when a wrapper such as npm was itself ended by the signal).
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a command and waits until its output names the ports it listens on: the --dev banner on
 * stderr by default, or `ready` (two capture groups: KMIP port, admin port) on either stream.
 */
export function startServerProcess(command: string, args: readonly string[], cwd = ROOT, timeoutMs = 60_000, ready?: RegExp): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a signal reaches the server behind a wrapper (npm, sh) as a terminal's Ctrl-C would.
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' }, detached: true });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${stderr.join('')}`));
    }, timeoutMs);
    const check = () => {
      const text = stderr.join('') + stdout.join('');
      let ports: [number, number] | undefined;
      if (ready) {
        const m = ready.exec(text);
        if (m) ports = [Number(m[1]), Number(m[2])];
      } else {
        const kmip = /listening on [\d.]+:(\d+)/.exec(text);
        const admin = /admin:\s+http:\/\/[\d.]+:(\d+)\//.exec(text);
        if (kmip && admin) ports = [Number(kmip[1]), Number(admin[1])];
      }
      if (ports) {
        clearTimeout(timer);
        noteDataDirSecrets(args);
        resolve({
          child,
          stdout,
          stderr,
          kmipPort: ports[0],
          adminPort: ports[1],
          stop: (signal = 'SIGTERM') => {
            void exited.then(() => noteOutput(`server process ${args.join(' ')}`, stdout.join('') + stderr.join('')));
            try {
              process.kill(-child.pid!, signal);
            } catch {
              child.kill(signal);
            }
            return exited;
          },
        });
      }
    };
    // Decoded as streams: a UTF-8 character split between two reads must not become two U+FFFD.
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      stdout.push(d);
      check();
    });
    child.stderr!.on('data', (d: string) => {
      stderr.push(d);
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it listened:\n${stderr.join('')}`));
    });
  });
}

export function runToExit(command: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      noteOutput(`${command} ${args.join(' ')}`, stdout + stderr);
      resolve({ code, stdout, stderr });
    });
  });
}
