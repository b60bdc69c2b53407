/**
 * The client that must keep being served while the fuzzer attacks: its own tenant and connection,
 * a steady loop of one Create then Gets of the keys it made, each Get checked against the first
 * answer for that key. Latency goes into an HDR histogram (bounded memory on any run length).
 */
import * as hdr from 'hdr-histogram-js';
import type { ConnectionOptions } from 'node:tls';
import { encodeTtlv, type TtlvItem } from '../../server/ttlv/index.js';
import { Operation, ResultStatus } from '../../server/kmip/generated/enums.js';
import { enumAttr, intAttr } from '../support/attributes.js';
import { TestKmipClient, type DecodedResponse, type ItemSpec } from '../support/kmip-client.js';

export interface LegitReport {
  readonly requests: number;
  /** Every request that failed, hung or lost its connection (the first few described). */
  readonly failures: number;
  readonly failureExamples: readonly string[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const CREATE: ItemSpec = {
  operation: Operation.Create,
  payload: { objectType: 2, templateAttribute: { names: [], attributes: [enumAttr('Cryptographic Algorithm', 3), intAttr('Cryptographic Length', 256), intAttr('Cryptographic Usage Mask', 12)] } },
};
const GETS_PER_CREATE = 4;
/** Keys whose material is remembered and compared on every later Get. */
const REMEMBERED = 64;

export class LegitClient {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  private readonly keys: Array<{ uid: string; material: string | undefined }> = [];
  private requests = 0;
  private failures = 0;
  private readonly examples: string[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly port: number,
    private readonly tls: ConnectionOptions,
    private readonly deadlineMs: number,
    /** Pause between requests: a steady client, not a load generator. */
    private readonly pauseMs = 2,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<LegitReport> {
    this.stopped = true;
    await this.loop;
    return this.report();
  }

  /** The figures so far. */
  report(): LegitReport {
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      requests: this.requests,
      failures: this.failures,
      failureExamples: this.examples,
      p50Ms: ms(this.histogram.getValueAtPercentile(50)),
      p99Ms: ms(this.histogram.getValueAtPercentile(99)),
      maxMs: ms(this.histogram.maxValue),
    };
  }

  private fail(what: string): void {
    this.failures++;
    if (this.examples.length < 10) this.examples.push(what);
  }

  private async run(): Promise<void> {
    let client: TestKmipClient | undefined;
    let n = 0;
    while (!this.stopped) {
      try {
        client ??= await this.timed(TestKmipClient.connect(this.port, this.tls), 'connect');
        if (n++ % (GETS_PER_CREATE + 1) === 0 || this.keys.length === 0) await this.create(client);
        else await this.get(client);
      } catch (err) {
        this.fail((err as Error).message);
        client?.socket.destroy();
        client = undefined;
      }
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await client?.close();
  }

  private async create(client: TestKmipClient): Promise<void> {
    const item = (await this.request(client, [CREATE])).items[0]!;
    if (item.resultStatus !== ResultStatus.Success) return this.fail(`Create failed: reason ${item.resultReason} ${item.resultMessage ?? ''}`);
    this.keys.push({ uid: item.payload!['uniqueIdentifier'] as string, material: undefined });
    if (this.keys.length > REMEMBERED) this.keys.shift();
  }

  private async get(client: TestKmipClient): Promise<void> {
    const key = this.keys[this.requests % this.keys.length]!;
    const item = (await this.request(client, [{ operation: Operation.Get, payload: { uniqueIdentifier: key.uid } }])).items[0]!;
    if (item.resultStatus !== ResultStatus.Success) return this.fail(`Get failed: reason ${item.resultReason} ${item.resultMessage ?? ''}`);
    const material = Buffer.from(encodeTtlv(item.payload!['symmetricKey'] as TtlvItem)).toString('hex');
    if (key.material === undefined) key.material = material;
    else if (key.material !== material) this.fail(`Get returned other key material for ${key.uid}`);
  }

  private async request(client: TestKmipClient, items: readonly ItemSpec[]): Promise<DecodedResponse> {
    const started = performance.now();
    this.requests++;
    const response = await this.timed(client.request(items), 'request');
    this.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
    return response;
  }

  private timed<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung past ${this.deadlineMs} ms`)), this.deadlineMs)));
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }
}
