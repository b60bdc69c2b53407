/**
 * `kmip-server init --config FILE [--san NAME|IP]...`: creates every missing file the configuration
 * names, so a production-style server starts without copying files out of a --dev folder. It never
 * replaces a file; it checks the ones it keeps; with any problem (a bad config, a file that is there
 * but wrong, one it cannot make) it lists them all and creates nothing (exit 2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, parseConfig, readConfigDocument, type ServerConfig } from '../config/load.js';
import { describeNames, sanProblem, serverNames } from '../pki/server-names.js';
import { newLocalRootKeyText } from '../wrap/local.js';
import { checkNamedFiles, fileProblems, initCreates, type CheckedFile } from './check-files.js';
import {
  adminClientPaths,
  caKeyPath,
  FOLDER_MODE,
  newCa,
  newTicketKeys,
  newToken,
  SECRET_MODE,
  serverCaPaths,
  writeCa,
  writeClientLeaf,
  writeServerLeaf,
  Writer,
} from './material.js';

export interface InitOptions {
  readonly configFile: string;
  readonly san: readonly string[];
}

export interface InitOutcome {
  /** 0 done, 1 failed while writing, 2 problems with the configuration or its files (nothing written). */
  readonly code: 0 | 1 | 2;
  readonly lines: readonly string[];
}

/** What only the operator can supply, and where it comes from. */
const NOT_MINE: Record<string, string> = {
  'store.caFile': 'it is the CA certificate of your PostgreSQL service (IBM Cloud Databases: the deployment\'s CA)',
  'wrap.apiKeyFile': 'put the API key of the service ID that may wrap and unwrap with the root key there (mode 0600)',
};

/** Problems that make init refuse to write anything. */
function planProblems(checked: readonly CheckedFile[]): string[] {
  const out: string[] = [];
  const byAt = new Map(checked.map((c) => [c.at, c]));
  const missing = (at: string) => byAt.get(at)?.result.state === 'missing';
  for (const c of checked) {
    if (c.result.state === 'bad') out.push(`${c.at}: ${c.file} ${c.result.reason}`);
    else if (c.result.state === 'missing' && !initCreates(c)) out.push(`${c.at}: ${c.file} ${c.result.reason}; init cannot make it: ${NOT_MINE[c.at]}`);
  }
  for (const [cert, key] of [['tls.certFile', 'tls.keyFile'], ['admin.tls.certFile', 'admin.tls.keyFile']] as const) {
    if (!byAt.has(cert)) continue;
    if (missing(cert) !== missing(key)) {
      const [have, lack] = missing(cert) ? [key, cert] : [cert, key];
      out.push(`${lack}: ${byAt.get(lack)!.file} does not exist but ${have} does: init never pairs a new file with an existing certificate or key (give both, or remove both to have them made)`);
    }
  }
  const leavesToMake = ['tls.certFile', 'admin.tls.certFile'].some((at) => missing(at) && missing(at.replace('certFile', 'keyFile')));
  const tlsCert = byAt.get('tls.certFile');
  if (leavesToMake && tlsCert) {
    const ca = serverCaPaths(tlsCert.file);
    if (existsSync(ca.cert) !== existsSync(ca.key)) out.push(`tls.certFile: the server CA beside it is incomplete: give both ${ca.cert} and ${ca.key}, or neither (init then makes a new CA)`);
  }
  for (const at of ['tls.clientCaFile', 'admin.tls.clientCaFile']) {
    const c = byAt.get(at);
    if (!c || !missing(at)) continue;
    const extra = [caKeyPath(c.file), ...(at.startsWith('admin') ? Object.values(adminClientPaths(c.file)) : [])];
    for (const file of extra.filter((f) => existsSync(f))) out.push(`${at}: ${c.file} does not exist but ${file}, which init would make with it, does (move it away, or give the CA certificate)`);
  }
  return out;
}

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Makes what is missing, in an order where each file's inputs exist first. */
function create(config: Readonly<ServerConfig>, checked: readonly CheckedFile[], san: readonly string[], w: Writer): string[] {
  const notes: string[] = [];
  const missing = (at: string) => checked.find((c) => c.at === at)?.result.state === 'missing';
  if (config.store.kind === 'sqlite' && missing('store.path')) w.folder(dirname(config.store.path));
  if (config.wrap.kind === 'local' && missing('wrap.keyFile')) w.file(config.wrap.keyFile, newLocalRootKeyText(), SECRET_MODE, 'local root key');
  const adminTls = config.admin.enabled ? config.admin.tls : undefined;
  const leaves = [
    ...(missing('tls.certFile') ? [{ files: { cert: config.tls.certFile, key: config.tls.keyFile }, host: config.listen.host, what: 'KMIP server certificate' }] : []),
    ...(adminTls && missing('admin.tls.certFile') ? [{ files: { cert: adminTls.certFile, key: adminTls.keyFile }, host: config.admin.host, what: 'admin HTTPS certificate' }] : []),
  ];
  // --san only reaches certificates issued now; a kept one would otherwise ignore it without a word.
  if (san.length > 0) {
    const kept = checked.filter((c) => (c.at === 'tls.certFile' || c.at === 'admin.tls.certFile') && c.result.state === 'ok');
    for (const c of kept) notes.push(`--san ${san.join(', ')}: not used; ${c.at} is kept (remove ${c.file} and its key to have them issued with these names)`);
  }
  if (leaves.length > 0) {
    const caFiles = serverCaPaths(config.tls.certFile);
    let ca;
    if (existsSync(caFiles.cert)) {
      ca = { certificatePem: readFileSync(caFiles.cert, 'utf8'), privateKeyPem: readFileSync(caFiles.key, 'utf8') };
      notes.push(`server CA (kept, it signed the new certificates): ${caFiles.cert}`);
    } else {
      ca = newCa('kmip-for-vmware server CA');
      writeCa(w, ca, caFiles.cert, caFiles.key, 'server CA');
      notes.push(`server CA: ${caFiles.cert} — give it to vCenter (it verifies the KMIP server with it) and to kmipctl (--kmip-ca, --server-ca)`);
      notes.push(`  its private key ${caFiles.key} signs new server certificates (run init again after removing one); keep it offline if you will not`);
    }
    for (const leaf of leaves) {
      const names = serverNames(leaf.host, san);
      writeServerLeaf(w, ca, names, leaf.files, leaf.what);
      notes.push(`${leaf.what} names: ${describeNames(names)}`);
    }
  }
  const clientCa = config.tls.clientCaFile;
  if (clientCa && missing('tls.clientCaFile')) {
    const ca = newCa('kmip-for-vmware client CA');
    writeCa(w, ca, clientCa, caKeyPath(clientCa), 'client CA');
    notes.push(`client CA: sign vCenter's certificate with kmipctl vcenter register --sign-ca-cert ${clientCa} --sign-ca-key ${caKeyPath(clientCa)}`);
  }
  const adminCa = adminTls?.clientCaFile;
  if (adminCa && missing('admin.tls.clientCaFile')) {
    const ca = newCa('kmip-for-vmware administrators CA');
    writeCa(w, ca, adminCa, caKeyPath(adminCa), 'administrators\' client CA');
    const client = adminClientPaths(adminCa);
    writeClientLeaf(w, ca, 'kmip-admin', client, 'administrator client certificate');
    notes.push(`administrator certificate: kmipctl --admin-url https://${config.admin.host}:${config.admin.port} --client-cert ${client.cert} --client-key ${client.key} --server-ca ${serverCaPaths(config.tls.certFile).cert}`);
  }
  const ticket = config.tls.ticketKeyFile;
  if (ticket && missing('tls.ticketKeyFile')) {
    w.file(ticket, newTicketKeys(), SECRET_MODE, 'TLS session ticket keys');
    notes.push(`TLS session ticket keys: copy ${ticket} to every node of a cluster`);
  }
  const token = config.admin.enabled ? config.admin.tokenFile : undefined;
  if (token && missing('admin.tokenFile')) w.file(token, newToken(), SECRET_MODE, 'management API token');
  return notes;
}

export function runInit(options: InitOptions): InitOutcome {
  const problems: string[] = options.san.flatMap((s) => {
    const p = sanProblem(s);
    return p ? [`--san: ${p}`] : [];
  });
  let doc: unknown;
  try {
    doc = readConfigDocument(options.configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refused(options.configFile, [...err.problems, ...problems]);
  }
  let config: Readonly<ServerConfig> | undefined;
  try {
    config = parseConfig(doc, options.configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const checked = checkNamedFiles(doc);
  problems.push(...planProblems(checked));
  if (problems.length > 0 || !config) return refused(options.configFile, problems);
  const w = new Writer();
  let notes: string[];
  try {
    notes = create(config, checked, options.san, w);
  } catch (err) {
    return { code: 1, lines: [...report(w, checked), `init failed: ${(err as Error).message}`] };
  }
  // What init made must pass the file checks the server runs at start (the environment is the operator's).
  const after = fileProblems(doc);
  if (after.length > 0) return { code: 1, lines: [...report(w, checked), 'the files do not pass the start checks:', ...after.map((p) => `  - ${p}`)] };
  return { code: 0, lines: [...report(w, checked), '', ...notes, `start it: kmip-server --config ${options.configFile}`] };
}

function refused(configFile: string, problems: readonly string[]): InitOutcome {
  return { code: 2, lines: [`configuration ${configFile} has problems; nothing was created:`, ...problems.map((p) => `  - ${p}`)] };
}

function report(w: Writer, checked: readonly CheckedFile[]): string[] {
  const made = new Set(w.made.map((m) => m.file));
  return [
    ...w.folders.map((d) => `created folder ${d} (${modeText(FOLDER_MODE)})`),
    ...w.made.map((m) => `created ${m.file}: ${m.what} (${modeText(m.mode)})`),
    ...checked
      .filter((c) => (c.result.state === 'ok' || c.kind === 'sqlite') && !made.has(c.file))
      .map((c) => (c.kind === 'sqlite' && !existsSync(c.file) ? `later   ${c.file}: ${c.what}, created at the first start` : `kept    ${c.file}: ${c.what} (${c.at})`)),
  ];
}
