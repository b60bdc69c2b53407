/**
 * A load worker thread: `connections` persistent TLS connections (or a new one per operation for
 * the handshake scenarios), each sending one request at a time, latencies in an HDR histogram.
 * Loops stop at the deadline or after `maxOps`, whichever comes first. Traffic goes only to 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { FrameReader } from '../../server/ttlv/index.js';
import { allSucceeded, ENCRYPT_BYTES, readResponse, requests, type ScenarioSpec } from './scenarios.js';

export interface WorkerJob {
  readonly ports: readonly number[];
  readonly tls: { readonly ca: Uint8Array; readonly cert: Uint8Array; readonly key: Uint8Array };
  readonly connections: number;
  readonly durationMs: number;
  readonly maxOps: number;
  readonly scenario: ScenarioSpec;
  readonly offset: number;
  /** The server answers every message with its own bytes (a reference): an answer must equal its request. */
  readonly echo?: boolean;
}

/** Stands in for the identifier a Create returns when the server only echoes (the length of ours). */
const ECHO_UID = '00000000-0000-7000-8000-000000000000';

export interface WorkerResult {
  readonly ops: number;
  readonly failedResults: number;
  readonly errors: number;
  readonly resumed: number;
  readonly histogram: string;
  readonly uids: string[];
}

class Conn {
  private readonly framer = new FrameReader(1 << 24);
  private waiting: ((b: Buffer) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  session: Buffer | undefined;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) {
        const w = this.waiting;
        this.waiting = undefined;
        w?.(m);
      }
    });
    socket.on('session', (s: Buffer) => (this.session = s));
    const fail = (e: Error) => {
      const f = this.failed;
      this.failed = undefined;
      this.waiting = undefined;
      f?.(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('closed')));
  }

  static open(port: number, context: SecureContext, extra: { session?: Buffer; maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          // One secure context per worker: building one per connection (parsing keys and CA bundles)
          // made the load generator, not the server, the limit of the handshake scenarios.
          secureContext: context,
          ...(extra.session ? { session: extra.session } : {}),
          ...(extra.maxVersion ? { maxVersion: extra.maxVersion } : {}),
        },
        () => {
          socket.removeListener('error', reject);
          resolve(new Conn(socket));
        },
      );
      socket.once('error', reject);
    });
  }

  send(bytes: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

async function run(job: WorkerJob): Promise<WorkerResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const deadline = performance.now() + job.durationMs;
  let ops = 0;
  let failedResults = 0;
  let errors = 0;
  let resumed = 0;
  const uids: string[] = [];
  const spec = job.scenario;
  const contexts = new Map<string, SecureContext>();
  const context = (maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3') => {
    let c = contexts.get(maxVersion);
    if (!c) {
      c = createSecureContext({ ca: Buffer.from(job.tls.ca), cert: Buffer.from(job.tls.cert), key: Buffer.from(job.tls.key), maxVersion });
      contexts.set(maxVersion, c);
    }
    return c;
  };
  const prepared = {
    create: requests.create(),
    discover: requests.discover(),
    gets: spec.kind === 'get' ? spec.uids.map(requests.get) : [],
    locates: spec.kind === 'locate' ? spec.names.map(requests.locateByName) : [],
    encrypt: spec.kind === 'encrypt' ? requests.encrypt(spec.uid, randomBytes(ENCRYPT_BYTES)) : undefined,
  };
  const more = () => performance.now() < deadline && ops < job.maxOps;
  const echoes = (sent: Uint8Array, answer: Buffer): boolean => answer.equals(sent);
  const succeeded = (sent: Uint8Array, answer: Buffer): boolean => (job.echo ? echoes(sent, answer) : allSucceeded(readResponse(answer).statuses));
  /** Sends one request and says whether it was answered as it should be. */
  const exchange = async (c: Conn, sent: Uint8Array): Promise<boolean> => succeeded(sent, await c.send(sent));

  const loop = async (slot: number): Promise<void> => {
    const port = job.ports[(job.offset + slot) % job.ports.length]!;
    let n = job.offset + slot;
    if (spec.kind === 'handshake') {
      let session: Buffer | undefined;
      while (more()) {
        const started = performance.now();
        try {
          const c = await Conn.open(port, context(spec.maxVersion), { ...(spec.resume && session ? { session } : {}), maxVersion: spec.maxVersion });
          if (c.socket.isSessionReused()) resumed++;
          const answer = await c.send(prepared.discover);
          session = c.session ?? c.socket.getSession() ?? session;
          c.close();
          if (!succeeded(prepared.discover, answer)) failedResults++;
          histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
          ops++;
        } catch {
          errors++;
        }
      }
      return;
    }
    let c: Conn | undefined;
    while (more()) {
      try {
        c ??= await Conn.open(port, context());
        const started = performance.now();
        let ok = true;
        switch (spec.kind) {
          case 'create': {
            if (job.echo) {
              ok = await exchange(c, prepared.create);
              break;
            }
            const r = readResponse(await c.send(prepared.create));
            ok = allSucceeded(r.statuses);
            if (ok && uids.length < 10_000) uids.push(...r.uids);
            break;
          }
          case 'get':
            ok = await exchange(c, prepared.gets[n++ % prepared.gets.length]!);
            break;
          case 'locate':
            ok = await exchange(c, prepared.locates[n++ % prepared.locates.length]!);
            break;
          case 'encrypt':
            ok = await exchange(c, prepared.encrypt!);
            break;
          case 'mix': {
            // One vCenter "encrypt a VM" flow (kmip-vmware.md §2b).
            ok = await exchange(c, prepared.discover);
            const createAnswer = await c.send(prepared.create);
            let uid: string | undefined = ECHO_UID;
            if (!job.echo) {
              const created = readResponse(createAnswer);
              uid = allSucceeded(created.statuses) ? created.uids[0] : undefined;
            } else if (!echoes(prepared.create, createAnswer)) ok = false;
            if (!uid) {
              ok = false;
              break;
            }
            for (const step of [requests.getAttributes(uid, 'x-Product_Version'), requests.addProductTags(uid), requests.get(uid), requests.activate(uid)]) {
              if (!(await exchange(c, step))) ok = false;
            }
            break;
          }
        }
        histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
        ops++;
        if (!ok) failedResults++;
      } catch {
        errors++;
        c?.close();
        c = undefined;
      }
    }
    c?.close();
  };
  await Promise.all(Array.from({ length: job.connections }, (_, slot) => loop(slot)));
  const encoded = hdr.encodeIntoCompressedBase64(histogram);
  return { ops, failedResults, errors, resumed, histogram: encoded, uids };
}

if (parentPort) {
  const job = workerData as WorkerJob;
  run(job).then(
    (result) => parentPort!.postMessage(result),
    (err: Error) => parentPort!.postMessage({ error: err.message }),
  );
}
