/**
 * The import rules of DESIGN.md / style-anchors §5.1 as data, and a checker over the TypeScript AST.
 * Paths are repository-relative with forward slashes; a module specifier that is not relative is a
 * package ("pino") or a builtin ("node:crypto").
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  readonly from: string;
  /** Repository path of a local target, or the package / builtin name. */
  readonly to: string;
  readonly local: boolean;
  readonly typeOnly: boolean;
}

export interface Rule {
  readonly name: string;
  readonly appliesTo: (file: string) => boolean;
  /** Returns a reason when the edge breaks the rule. */
  readonly check: (edge: ImportEdge) => string | undefined;
}

const under = (prefix: string) => (p: string) => p.startsWith(prefix);
/** server/util holds leaf helpers (node builtins only) that any server folder may use. */
const util = under('server/util/');
const isBuiltin = (e: ImportEdge) => !e.local && e.to.startsWith('node:');
const pkg = (e: ImportEdge) => (e.local ? undefined : e.to.startsWith('@') ? e.to.split('/').slice(0, 2).join('/') : e.to.split('/')[0]);

function onlyLocal(allowed: ReadonlyArray<(p: string) => boolean>, packages: readonly string[] = []) {
  return (e: ImportEdge): string | undefined => {
    if (isBuiltin(e)) return undefined;
    if (!e.local) return packages.includes(pkg(e)!) ? undefined : `package ${e.to} is not allowed here`;
    return allowed.some((a) => a(e.to)) ? undefined : `may not import ${e.to}`;
  };
}

const SERVER_DIRS = ['ttlv', 'kmip', 'store', 'wrap', 'net', 'config', 'log', 'cli', 'admin', 'pki', 'identity', 'vcenter'];

export const RULES: readonly Rule[] = [
  {
    name: 'server/util is a leaf: node builtins only',
    appliesTo: under('server/util/'),
    check: onlyLocal([under('server/util/')]),
  },
  {
    name: 'server/ttlv knows item types only: node builtins and itself',
    appliesTo: under('server/ttlv/'),
    check: onlyLocal([under('server/ttlv/')]),
  },
  {
    name: 'server/kmip/generated imports only ttlv types and itself',
    appliesTo: under('server/kmip/generated/'),
    check: onlyLocal([under('server/kmip/generated/'), (p) => p === 'server/ttlv/types.ts']),
  },
  {
    name: 'server/kmip (model, codec, batch) stays off sockets, SQL, HTTP, config and logging',
    appliesTo: (p) => p.startsWith('server/kmip/') && !p.startsWith('server/kmip/operations/') && !p.startsWith('server/kmip/spec/'),
    check: (e) => {
      if (e.local && e.typeOnly && (e.to === 'server/store/store.ts' || e.to === 'server/wrap/wrapper.ts')) return undefined;
      return onlyLocal([under('server/ttlv/'), under('server/kmip/'), util])(e);
    },
  },
  {
    name: 'server/kmip/operations sees the store and wrapper only through their interfaces (types)',
    appliesTo: under('server/kmip/operations/'),
    check: (e) => {
      if (e.local && (e.to === 'server/store/store.ts' || e.to === 'server/wrap/wrapper.ts')) {
        return e.typeOnly ? undefined : `must import ${e.to} with "import type"`;
      }
      return onlyLocal([under('server/ttlv/'), under('server/kmip/'), util])(e);
    },
  },
  {
    name: 'server/store imports generated enums, its own files and database drivers',
    appliesTo: under('server/store/'),
    check: onlyLocal([under('server/store/'), under('server/kmip/generated/'), util], ['better-sqlite3', 'pg']),
  },
  {
    name: 'server/wrap knows nothing of KMIP, the store or sockets',
    appliesTo: under('server/wrap/'),
    check: onlyLocal([under('server/wrap/'), util], ['undici']),
  },
  {
    name: 'server/net is transport only',
    appliesTo: under('server/net/'),
    check: onlyLocal([under('server/net/'), under('server/ttlv/'), under('server/log/'), util]),
  },
  {
    name: 'server/backup is file format and snapshot records: zod, store types and itself',
    appliesTo: under('server/backup/'),
    check: (e) => {
      if (e.local && e.typeOnly && e.to === 'server/store/store.ts') return undefined;
      return onlyLocal([under('server/backup/')], ['zod'])(e);
    },
  },
  {
    // The vCenter client: its own HTTPS, SOAP and JSON code; certificate issuance and fingerprints are
    // the project's own (server/pki, server/identity/fingerprint), so vCenter's pin and ours are one hash.
    // Nothing of the key server (store, KMIP, net) — kmipctl hands it what it needs from the management API.
    name: 'server/vcenter is the vCenter client: node builtins, zod, node-forge, server/pki, the fingerprint, server/util and itself',
    appliesTo: under('server/vcenter/'),
    check: onlyLocal([under('server/vcenter/'), under('server/pki/'), (p) => p === 'server/identity/fingerprint.ts', util], ['zod', 'node-forge']),
  },
  {
    name: 'server/config and server/log stand alone',
    appliesTo: (p) => p.startsWith('server/config/') || p.startsWith('server/log/'),
    check: (e) => onlyLocal([(p) => p.startsWith(e.from.split('/').slice(0, 2).join('/') + '/')], ['zod', 'pino'])(e),
  },
  {
    name: 'server/cli goes straight to config, store, wrap, log and generated enums (never net or operations)',
    appliesTo: under('server/cli/'),
    check: (e) =>
      e.local && (e.to.startsWith('server/net/') || e.to.startsWith('server/kmip/operations/'))
        ? `may not import ${e.to}`
        : undefined,
  },
  {
    name: 'server never imports stacks, modules or generated provider bindings',
    appliesTo: under('server/'),
    check: (e) => (e.local && /^(stacks|modules|\.gen)\//.test(e.to) ? `may not import ${e.to}` : undefined),
  },
  {
    name: 'pino only in server/log, undici only in server/wrap, database drivers only in server/store',
    appliesTo: under('server/'),
    check: (e) => {
      const p = pkg(e);
      if (p === 'pino' && !e.from.startsWith('server/log/')) return 'pino belongs in server/log';
      if (p === 'undici' && !e.from.startsWith('server/wrap/')) return 'undici belongs in server/wrap';
      if ((p === 'pg' || p === 'better-sqlite3') && !e.from.startsWith('server/store/')) return `${p} belongs in server/store`;
      return undefined;
    },
  },
  {
    name: 'modules import cdktf, constructs and generated bindings, never stacks or server',
    appliesTo: under('modules/'),
    check: (e) => (e.local && (e.to.startsWith('stacks/') || e.to.startsWith('server/')) ? `may not import ${e.to}` : undefined),
  },
  {
    name: 'planning functions (modules/**/plan*.ts) are pure',
    appliesTo: (p) => p.startsWith('modules/') && /\/plan[^/]*\.ts$/.test(p),
    check: (e) => (pkg(e) === 'cdktf' || (e.local && e.to.startsWith('.gen/')) ? `must stay pure, not import ${e.to}` : undefined),
  },
  {
    name: 'stacks never import server sources',
    appliesTo: under('stacks/'),
    check: (e) => (e.local && e.to.startsWith('server/') ? `may not import ${e.to}` : undefined),
  },
];

export { SERVER_DIRS };

export function listSourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, full).split('\\').join('/'));
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}

/** Every import and re-export of a source text, dynamic imports included. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean): void => {
    const local = specifier.startsWith('.');
    const to = local ? relative('.', resolve(dirname(file), specifier)).split('\\').join('/').replace(/\.js$/, '.ts') : specifier;
    edges.push({ from: file, to, local, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) add(arg.text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

export function violations(edges: readonly ImportEdge[], rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    for (const rule of rules) {
      if (!rule.appliesTo(edge.from)) continue;
      const reason = rule.check(edge);
      if (reason) found.push(`${edge.from} → ${edge.to}: ${reason} (${rule.name})`);
    }
  }
  return found;
}

/** Import cycles among local files, each as the list of files around it (runtime imports only). */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (!e.local || e.typeOnly) continue;
    graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  }
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

export function loadEdges(root: string, dirs: readonly string[]): ImportEdge[] {
  return listSourceFiles(root, dirs).flatMap((file) => importsOf(file, readFileSync(join(root, file), 'utf8')));
}
