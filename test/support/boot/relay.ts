/**
 * Byte relays between a booted node's network namespace and the host, through Unix sockets: the node has no
 * route anywhere (only its loopback, carrying its own VPC address and the metadata service's link-local
 * one), and the host's fakes listen on the host's loopback. One relay process runs inside the namespace
 * (`relay.ts RULES_JSON`, started with `ip netns exec`), the other half in the test process (startRelays).
 * Nothing leaves the machine; no address but loopback ones is ever dialled on the host.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

/** `tcp:HOST:PORT` or `unix:PATH`. */
export type Endpoint = `tcp:${string}` | `unix:${string}`;

export interface RelayRule {
  readonly listen: Endpoint;
  readonly connect: Endpoint;
}

export interface Relays {
  /** The TCP port each rule listens on (0 for a Unix socket), in rule order: `tcp:127.0.0.1:0` picks one. */
  readonly ports: readonly number[];
  /** The local ports of rule `rule`'s open outbound TCP connections: how the far end (a database) sees them. */
  clientPorts(rule: number): number[];
  close(): Promise<void>;
}

/** How long a connection may stay half-closed (one side done sending) before both sides are dropped. */
const HALF_OPEN_MS = 30_000;

function parse(e: Endpoint): { path: string } | { host: string; port: number } {
  if (e.startsWith('unix:')) return { path: e.slice(5) };
  const rest = e.slice(4);
  const at = rest.lastIndexOf(':');
  return { host: rest.slice(0, at), port: Number(rest.slice(at + 1)) };
}

/**
 * Joins two sockets as a network would. Half-open on both, so one side's FIN reaches the other as a FIN
 * (pipe() ends the peer) while data still in flight the other way is delivered: a close must not destroy
 * the peer and drop what it still has buffered. A reset (an error) resets the peer. A side that closes
 * without its FIN having been passed on (destroyed locally) ends the peer gracefully; a connection left
 * half-open longer than HALF_OPEN_MS is dropped, so a peer that never finishes cannot pin it forever.
 */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  let timer: NodeJS.Timeout | undefined;
  const linger = () => {
    timer ??= setTimeout(() => {
      a.destroy();
      b.destroy();
    }, HALF_OPEN_MS).unref();
  };
  for (const [self, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    self.on('end', linger);
    self.on('error', () => peer.destroy());
    self.on('close', () => {
      if (peer.destroyed) clearTimeout(timer);
      else {
        peer.end();
        linger();
      }
    });
  }
}

/** Starts every rule's listener; resolves when all listen. Each accepted connection is spliced to a new one to `connect`. */
export async function startRelays(rules: readonly RelayRule[]): Promise<Relays> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const sockets = new Set<Socket>();
  const outbound = rules.map(() => new Set<Socket>());
  const track = (s: Socket, set?: Set<Socket>) => {
    sockets.add(s);
    set?.add(s);
    s.on('close', () => {
      sockets.delete(s);
      set?.delete(s);
    });
  };
  for (const [i, rule] of rules.entries()) {
    const target = parse(rule.connect);
    const server = createServer({ allowHalfOpen: true }, (inbound) => {
      track(inbound);
      const out = 'path' in target ? createConnection({ path: target.path, allowHalfOpen: true }) : createConnection({ port: target.port, host: target.host, allowHalfOpen: true });
      track(out, outbound[i]);
      splice(inbound, out);
    });
    const where = parse(rule.listen);
    if ('path' in where) rmSync(where.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('path' in where) server.listen(where.path, () => resolve());
      else server.listen(where.port, where.host, () => resolve());
    });
    servers.push(server);
    const address = server.address();
    ports.push(typeof address === 'object' && address ? address.port : 0);
  }
  return {
    ports,
    clientPorts: (rule) => [...(outbound[rule] ?? [])].map((s) => s.localPort).filter((p): p is number => typeof p === 'number'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

// Run as a process (inside the node's namespace): relay.ts '[{"listen":…,"connect":…}]'; prints "relaying" when
// ready. Its stdin is a pipe from the test process: when that closes (clean-up, or the test process died), the
// relay exits, so it never outlives its owner and keeps the namespace's sockets open.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const rules = JSON.parse(process.argv[2] ?? '[]') as RelayRule[];
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  await startRelays(rules);
  process.stdout.write('relaying\n');
  process.on('SIGTERM', () => process.exit(0));
}
