/**
 * Every file a server configuration names, with what it must hold. Read from the raw JSON document,
 * not the validated config, so a file is checked even when another field of the file is wrong and
 * every problem is reported at once.
 */

export type FileKind =
  /** PEM certificate(s): the first is the server's own, the rest its chain. */
  | 'certificate'
  /** PEM CA certificate(s). */
  | 'ca'
  | 'private-key'
  /** The local root key file (JSON, versions of AES-256 keys, mode 0600). */
  | 'root-key'
  /** 48 random bytes, shared by the nodes of a cluster. */
  | 'ticket-keys'
  /** A secret on one line: the management token, a Key Protect API key. */
  | 'secret'
  /** The SQLite database: its folder must exist; the file is created at the first start. */
  | 'sqlite';

export interface NamedFile {
  /** Where the config names it, e.g. "tls.certFile". */
  readonly at: string;
  readonly file: string;
  readonly kind: FileKind;
  readonly what: string;
}

type Doc = Record<string, unknown>;

function obj(v: unknown): Doc | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** The files `doc` names that the server reads at start, in the order they are reported. */
export function namedFiles(doc: unknown): NamedFile[] {
  const root = obj(doc) ?? {};
  const out: NamedFile[] = [];
  const add = (section: Doc | undefined, prefix: string, key: string, kind: FileKind, what: string) => {
    const file = str(section?.[key]);
    if (file !== undefined) out.push({ at: `${prefix}.${key}`, file, kind, what });
  };
  const tls = obj(root['tls']);
  add(tls, 'tls', 'certFile', 'certificate', 'KMIP server certificate');
  add(tls, 'tls', 'keyFile', 'private-key', 'KMIP server private key');
  add(tls, 'tls', 'clientCaFile', 'ca', 'client CA certificate');
  add(tls, 'tls', 'ticketKeyFile', 'ticket-keys', 'TLS session ticket keys');
  const admin = obj(root['admin']);
  if (admin?.['enabled'] !== false) {
    add(admin, 'admin', 'tokenFile', 'secret', 'management API token');
    const adminTls = obj(admin?.['tls']);
    add(adminTls, 'admin.tls', 'certFile', 'certificate', 'admin HTTPS certificate');
    add(adminTls, 'admin.tls', 'keyFile', 'private-key', 'admin HTTPS private key');
    add(adminTls, 'admin.tls', 'clientCaFile', 'ca', 'administrators\' client CA certificate');
  }
  const store = obj(root['store']);
  if (store?.['kind'] === 'sqlite') add(store, 'store', 'path', 'sqlite', 'SQLite database');
  if (store?.['kind'] === 'postgres') add(store, 'store', 'caFile', 'ca', 'database server CA certificate');
  const wrap = obj(root['wrap']);
  if (wrap?.['kind'] === 'local') add(wrap, 'wrap', 'keyFile', 'root-key', 'local root key');
  if (wrap?.['kind'] === 'keyprotect') add(wrap, 'wrap', 'apiKeyFile', 'secret', 'Key Protect API key');
  return out;
}

/** The certificate/key pairs the server loads together. */
export const KEY_PAIRS: ReadonlyArray<{ readonly cert: string; readonly key: string }> = [
  { cert: 'tls.certFile', key: 'tls.keyFile' },
  { cert: 'admin.tls.certFile', key: 'admin.tls.keyFile' },
];
