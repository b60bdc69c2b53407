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
  close(): Promise<void>;
}

function parse(e: Endpoint): { path: string } | { host: string; port: number } {
  if (e.startsWith('unix:')) return { path: e.slice(5) };
  const rest = e.slice(4);
  const at = rest.lastIndexOf(':');
  return { host: rest.slice(0, at), port: Number(rest.slice(at + 1)) };
}

/** Starts every rule's listener; resolves when all listen. Each accepted connection is piped to a new one to `connect`. */
export async function startRelays(rules: readonly RelayRule[]): Promise<Relays> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  for (const rule of rules) {
    const target = parse(rule.connect);
    const server = createServer((inbound) => {
      track(inbound);
      const outbound = 'path' in target ? createConnection(target.path) : createConnection(target.port, target.host);
      track(outbound);
      inbound.pipe(outbound).on('error', () => undefined);
      outbound.pipe(inbound).on('error', () => undefined);
      // Either side failing ends both: the peer sees a reset or a close, as across a real network.
      const end = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
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
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

// Run as a process (inside the node's namespace): relay.ts '[{"listen":…,"connect":…}]'; prints "relaying" when ready.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const rules = JSON.parse(process.argv[2] ?? '[]') as RelayRule[];
  await startRelays(rules);
  process.stdout.write('relaying\n');
  process.on('SIGTERM', () => process.exit(0));
}
