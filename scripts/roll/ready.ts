/**
 * Waiting for a node to be ready: GET /readyz on its admin port (HTTPS, the node's server certificate checked
 * against the stack's CA; readiness needs no client certificate) until it answers 200 or time runs out.
 */
import { request } from 'node:https';

export type ReadyCheck = (url: string, caPem: string, timeoutMs: number) => Promise<void>;

function probe(url: string, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/readyz', url), { method: 'GET', ca: caPem, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once /readyz answers 200; rejects with the last answer or error when `timeoutMs` passes. */
export const waitUntilReady: ReadyCheck = async (url, caPem, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  for (;;) {
    try {
      const status = await probe(url, caPem);
      if (status === 200) return;
      last = `answered ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${url}/readyz was not ready within ${Math.round(timeoutMs / 1000)} s (last: ${last})`);
    await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, deadline - Date.now()))));
  }
};
