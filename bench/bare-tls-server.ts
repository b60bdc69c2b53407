/**
 * The references our server is read against: Node's TLS server alone, on the same machine, key and
 * TLS options as ours (RSA 2048, client certificates requested and checked against the CA, session
 * tickets), answering every message with its own bytes (an echo: no KMIP, no store, no log). What it
 * reaches is the floor of any server built on Node's TLS here, for the same request bytes.
 *
 * The durable floors add what a Create cannot do without: each message is inserted (its bytes, so the
 * row has the request's size) and acknowledged only once on disk, before it is echoed. SQLite as our
 * store makes it durable (WAL with synchronous=NORMAL, then fdatasync of the WAL on the thread pool),
 * one insert and one sync per message, no grouping; PostgreSQL with an autocommitted insert
 * (synchronous_commit on) from a small pool.
 *
 * Started by bench/servers.ts: node bare-tls-server.js CERT KEY CA [--sqlite FILE | --postgres URL]
 */
import { fdatasync, openSync, readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { KMIP_CIPHERS } from '../server/net/ciphers.js';
import { FrameReader } from '../server/ttlv/index.js';

const [certFile, keyFile, caFile, mode, target] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile || (mode !== undefined && (!target || (mode !== '--sqlite' && mode !== '--postgres')))) {
  process.stderr.write('usage: bare-tls-server CERT KEY CA [--sqlite FILE | --postgres URL]\n');
  process.exit(2);
}

/** Makes one message durable; undefined: the plain echo. */
type Persist = (message: Buffer) => Promise<void>;

async function sqlitePersist(file: string): Promise<Persist> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('locking_mode = EXCLUSIVE');
  db.exec('CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO floor (body) VALUES (?)');
  insert.run(Buffer.alloc(1));
  const wal = openSync(`${file}-wal`, 'r+');
  return (message) =>
    new Promise((resolve, reject) => {
      insert.run(message);
      fdatasync(wal, (err) => (err ? reject(err) : resolve()));
    });
}

async function postgresPersist(url: string): Promise<Persist> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  await pool.query('CREATE TABLE IF NOT EXISTS floor (id bigserial PRIMARY KEY, body bytea NOT NULL)');
  return async (message) => {
    await pool.query({ name: 'floor-insert', text: 'INSERT INTO floor (body) VALUES ($1)', values: [message] });
  };
}

const persist: Persist | undefined = mode === '--sqlite' ? await sqlitePersist(target!) : mode === '--postgres' ? await postgresPersist(target!) : undefined;

/** Messages of one connection answered in order, one at a time, as ours does. */
function serve(socket: TLSSocket): void {
  socket.setNoDelay(true); // as ours
  const framer = new FrameReader(1 << 20);
  const queue: Buffer[] = [];
  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (queue.length > 0 && !socket.destroyed) {
        const message = queue.shift()!;
        await persist!(message);
        socket.write(message);
      }
    } catch {
      socket.destroy();
    } finally {
      busy = false;
    }
  };
  socket.on('data', (chunk: Buffer) => {
    const messages = framer.push(chunk);
    if (!persist) {
      for (const m of messages) socket.write(m);
      return;
    }
    queue.push(...messages);
    void pump();
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    ca: readFileSync(caFile),
    minVersion: 'TLSv1.2',
    ciphers: KMIP_CIPHERS,
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
  },
  serve,
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stderr.write(`listening on 127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
