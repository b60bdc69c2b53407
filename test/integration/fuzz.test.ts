/**
 * Hostile input through the real TLS listener: 20,000 inputs mutated from real vCenter requests and
 * the other operations of KMIP 1.x and 2.x (test/fuzz), many per connection, while a legitimate
 * client is served on its own connection. The server must answer each message with a well-formed
 * Response Message that fits the request, or close the connection; never crash, hang or grow.
 *
 * The seed is fixed so CI is reproducible; FUZZ_SEED and FUZZ_COUNT explore further, and
 * `npm run fuzz` runs millions. Failing inputs are saved as hex (paths in the failure message).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operation } from '../../server/kmip/generated/enums.js';
import { encodeRequest, TestKmipClient } from '../support/kmip-client.js';
import { startTestServer } from '../support/server.js';
import { expectFrames, judgeResponse } from '../fuzz/oracle.js';
import { formatReport } from '../fuzz/report.js';
import { runFuzz, type RunReport } from '../fuzz/runner.js';
import { FUZZ_LIMITS, inProcessTarget, type FuzzTarget } from '../fuzz/target.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 1_129);
const COUNT = Number(process.env['FUZZ_COUNT'] ?? 20_000);
const LIMITS = { maxSize: FUZZ_LIMITS.maxMessageSize, maxDepth: FUZZ_LIMITS.maxDepth, maxBatchItems: FUZZ_LIMITS.maxBatchItems };

let target: FuzzTarget;
beforeAll(async () => {
  const server = await startTestServer({ limits: { ...FUZZ_LIMITS } });
  target = await inProcessTarget(server, FUZZ_LIMITS);
});
afterAll(() => target?.close());

describe('the fuzz oracle', () => {
  it('frames a byte stream the way the server does', () => {
    const one = encodeRequest([{ operation: Operation.DiscoverVersions }]);
    const two = Buffer.concat([one, one]);
    expect(expectFrames(two, 1024)).toMatchObject({ ending: 'open', frames: [one, one] });
    expect(expectFrames(two.subarray(0, one.length + 5), 1024)).toMatchObject({ ending: 'partial', frames: [one] });
    expect(expectFrames(Buffer.from('42007801fffffff8', 'hex'), 1024)).toEqual({ ending: 'oversize', frames: [] });
  });

  it('accepts real answers and rejects garbage ones', async () => {
    const client = await TestKmipClient.connect(target.port, { ca: target.ca, cert: target.identities.registered.cert, key: target.identities.registered.key });
    const request = encodeRequest([
      { operation: Operation.DiscoverVersions, id: 'a' },
      { operation: Operation.Query, id: 'b', payload: { queryFunctions: [1] } },
    ]);
    const response = await client.send(request);
    const missing = encodeRequest([{ operation: Operation.Get, payload: { uniqueIdentifier: 'no-such-object' } }]);
    const notFound = await client.send(missing);
    await client.close();
    expect(judgeResponse(request, response, 'registered', LIMITS)).toMatchObject({ ok: true });
    expect(judgeResponse(missing, notFound, 'registered', LIMITS)).toMatchObject({ ok: true });

    const tampered = (find: string, replace: string) => Buffer.from(response.toString('hex').replace(find, replace), 'hex');
    const bad = [
      ['truncated', response.subarray(0, response.length - 8)],
      ['Unique Batch Item ID not echoed', tampered('42009308000000016100000000000000', '42009308000000016300000000000000')],
      ['wrong operation', tampered('42005c05000000040000001e', '42005c050000000400000001')],
      ['answers to other requests', notFound],
    ] as const;
    for (const [what, bytes] of bad) expect(judgeResponse(request, bytes, 'registered', LIMITS), what).toMatchObject({ ok: false });
    // Item Not Found turned into Invalid Ticket, a 2.0 reason a 1.1 client must never see.
    const ticket = Buffer.from(notFound.toString('hex').replace('42007e050000000400000001', '42007e050000000400000019'), 'hex');
    expect(ticket.equals(notFound)).toBe(false);
    expect(judgeResponse(missing, ticket, 'registered', LIMITS)).toMatchObject({ ok: false });
    // The same well-formed answer is garbage for a client that is not registered.
    expect(judgeResponse(request, response, 'unregistered', LIMITS)).toMatchObject({ ok: false });
  });
});

describe(`${COUNT} hostile inputs through the TLS listener (seed ${SEED})`, () => {
  let report: RunReport;

  beforeAll(async () => {
    report = await runFuzz({ target, seed: SEED, count: COUNT, concurrency: Number(process.env["FUZZ_CONCURRENCY"] ?? 8), deadlineMs: 15_000, failuresDir: join(tmpdir(), `kmip-fuzz-ci-${SEED}`) });
    console.log(formatReport(report));
  }, 120_000);

  it('never crashes, never hangs, and answers every message with a Response Message that fits it, or closes', () => {
    expect(report.crashed).toBeUndefined();
    expect(report.inputs).toBe(COUNT);
    expect(report.failures.map((f) => `#${f.index}: ${f.reason}\n  ${f.file}`)).toEqual([]);
    expect(report.findings.map((f) => `${f.kind} ×${f.count}: ${f.example}`)).toEqual([]);
  });

  it('reaches deep: successes, undone batches, refusals of every kind, closed connections', () => {
    const { statuses, reasons, closes, responses } = report.counters;
    expect(responses).toBeGreaterThan(COUNT * 0.9);
    expect(statuses['Success']).toBeGreaterThan(COUNT / 20);
    expect(statuses['OperationUndone']).toBeGreaterThan(0);
    expect(reasons['InvalidMessage']).toBeGreaterThan(COUNT / 4);
    expect(reasons['PermissionDenied']).toBeGreaterThan(COUNT / 20);
    expect(Object.keys(reasons).length).toBeGreaterThanOrEqual(8);
    expect(closes).toBeGreaterThan(COUNT / 50);
    expect(reasons['ResponseTooLarge']).toBeGreaterThan(0);
  });

  it('keeps serving a legitimate client on another connection, fast', () => {
    expect(report.legit.failureExamples).toEqual([]);
    expect(report.legit.failures).toBe(0);
    expect(report.legit.requests).toBeGreaterThan(200);
    expect(report.legit.p99Ms).toBeLessThan(500);
  });

  it('keeps memory bounded', () => {
    // Same process as the fuzzer: generous bounds, far below what a per-input leak would cost.
    expect(report.memory.after.heapMb - report.memory.before.heapMb).toBeLessThan(48);
    expect(report.memory.peakRssMb - report.memory.before.rssMb).toBeLessThan(400);
  });
});
