#!/usr/bin/env node
/**
 * kmipctl: the operator's command line, a client of the management API on the admin port.
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety (keys still in use).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, ManagementClient, resolveEndpoint } from './client.js';
import { output, table, type Out } from './output.js';
import { progressReporter } from './progress.js';

const USAGE = `usage: kmipctl [--admin-url URL --token-file FILE | --dev [--data-dir DIR]] [--json] COMMAND

  tenant add NAME                       create a tenant (one key provider, usually one vCenter)
  tenant list                           tenants with their key counts per state
  tenant remove NAME [--force --confirm NAME]
                                        remove a tenant and destroy its keys; refused (exit 3) while
                                        any key is Pre-Active or Active or was fetched recently
  cert add --tenant NAME --pem FILE [--name LABEL] [--ca --subject SUBJECT]
                                        register a client certificate (pinned), or a CA plus subject
  cert list [--tenant NAME]             registered client certificates
  cert remove FINGERPRINT               unregister; the client is cut off at once
  keys list [--tenant NAME] [--state S] keys with state, dates, vCenter tags, last Get
  keys revoke ID --tenant NAME [--reason compromise|cessation|superseded|unspecified]
  keys destroy ID --tenant NAME         destroy a key's material (KMIP rules: not while Active)
  rewrap [--after ID]                   rewrap every key to the root key's current version (resumable)
  preflight-destroy                     exit 0 when tearing down is safe, 3 (with the reasons) when not

  --admin-url URL     the server's admin port (or KMIPCTL_ADMIN_URL)
  --token-file FILE   the management token (or KMIPCTL_TOKEN_FILE)
  --dev               use the running embedded default in --data-dir (default .kmip-dev)
  --json              machine-readable output

exit codes: 0 done, 1 failed, 2 usage error, 3 refused for safety`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        'admin-url': { type: 'string' },
        'token-file': { type: 'string' },
        dev: { type: 'boolean', default: false },
        'data-dir': { type: 'string', default: '.kmip-dev' },
        json: { type: 'boolean', default: false },
        tenant: { type: 'string' },
        pem: { type: 'string' },
        name: { type: 'string' },
        ca: { type: 'boolean', default: false },
        subject: { type: 'string' },
        state: { type: 'string' },
        reason: { type: 'string' },
        after: { type: 'string' },
        force: { type: 'boolean', default: false },
        confirm: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`kmipctl: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
})();

function need(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`${what} is required\n${USAGE}`, 2);
  return value;
}

type Handler = (client: ManagementClient, out: Out, args: string[]) => Promise<void>;

const commands: Record<string, Handler> = {
  'tenant add': async (c, out, [name]) => {
    const r = await c.call('POST', '/v1/tenants', { name: need(name, 'NAME') });
    out.result(r, () => `tenant ${name} created`);
  },
  'tenant list': async (c, out) => {
    const r = await c.call<{ tenants: Array<{ name: string; createdAt: string; keys: Record<string, number> }> }>('GET', '/v1/tenants');
    const states = ['PreActive', 'Active', 'Deactivated', 'Compromised', 'Destroyed', 'DestroyedCompromised'];
    out.result(r, () => table(['TENANT', ...states.map((s) => s.toUpperCase()), 'CREATED'], r.tenants.map((t) => [t.name, ...states.map((s) => t.keys[s] ?? 0), t.createdAt])));
  },
  'tenant remove': async (c, out, [name]) => {
    const tenant = need(name, 'NAME');
    const q = new URLSearchParams(values.force ? { force: 'true', confirm: values.confirm ?? '' } : {});
    const r = await c.call('DELETE', `/v1/tenants/${encodeURIComponent(tenant)}${q.size ? `?${q}` : ''}`);
    out.result(r, () => `tenant ${tenant} removed with its keys and certificates`);
  },
  'cert add': async (c, out) => {
    const pemFile = need(values.pem, '--pem FILE');
    let pem: string;
    try {
      pem = readFileSync(pemFile, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${pemFile}: ${(err as Error).message}`, 2);
    }
    const r = await c.call<{ fingerprint: string; notAfter: string }>('POST', '/v1/certs', {
      tenant: need(values.tenant, '--tenant NAME'),
      pem,
      ...(values.name ? { label: values.name } : {}),
      ...(values.ca ? { kind: 'ca', subject: need(values.subject, '--subject (with --ca)') } : {}),
    });
    out.result(r, () => `registered ${r.fingerprint} to tenant ${values.tenant} (valid until ${r.notAfter})`);
  },
  'cert list': async (c, out) => {
    const r = await c.call<{ certificates: Array<{ fingerprint: string; tenant: string; label: string; kind: string; notAfter: string }> }>(
      'GET',
      `/v1/certs${values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : ''}`,
    );
    out.result(r, () => table(['FINGERPRINT', 'TENANT', 'KIND', 'LABEL', 'NOT AFTER'], r.certificates.map((x) => [x.fingerprint, x.tenant, x.kind, x.label, x.notAfter])));
  },
  'cert remove': async (c, out, [fp]) => {
    const fingerprint = need(fp, 'FINGERPRINT').toLowerCase().replace(/:/g, '');
    const r = await c.call<{ connectionsClosed: number }>('DELETE', `/v1/certs/${fingerprint}`);
    out.result(r, () => `removed ${fingerprint}; ${r.connectionsClosed} connection(s) closed`);
  },
  'keys list': async (c, out) => {
    const q = new URLSearchParams({ ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.state ? { state: values.state } : {}), ...(values.after ? { after: values.after } : {}) });
    const r = await c.call<{ keys: Array<Record<string, string | null>>; next: string | null }>('GET', `/v1/keys${q.size ? `?${q}` : ''}`);
    out.result(r, () =>
      [
        table(['ID', 'TENANT', 'STATE', 'CREATED', 'LAST GET', 'COMPONENT', 'NAME', 'IDENTIFIER'], r.keys.map((k) => [k['id'], k['tenant'], k['state'], k['created'], k['lastGet'], k['component'], k['name'], k['identifier']])),
        ...(r.next ? [`more: kmipctl keys list --after ${r.next}`] : []),
      ].join('\n'),
    );
  },
  'keys revoke': async (c, out, [id]) => {
    const r = await c.call('POST', `/v1/keys/${encodeURIComponent(need(id, 'ID'))}/revoke`, { tenant: need(values.tenant, '--tenant NAME'), ...(values.reason ? { reason: values.reason } : {}) });
    out.result(r, () => `key ${id} revoked`);
  },
  'keys destroy': async (c, out, [id]) => {
    const r = await c.call('POST', `/v1/keys/${encodeURIComponent(need(id, 'ID'))}/destroy`, { tenant: need(values.tenant, '--tenant NAME') });
    out.result(r, () => `key ${id} destroyed`);
  },
  rewrap: async (c, out) => {
    const bar = progressReporter(out.json);
    let final: { rewrapped: number; current: number; failed: number; version: string; cursor?: string } | undefined;
    await c.stream(`/v1/rewrap${values.after ? `?after=${encodeURIComponent(values.after)}` : ''}`, (line) => {
      const l = line as { progress?: { done: number; total: number; rewrapped: number; failed: number; cursor?: string }; done?: typeof final };
      if (l.progress) bar.update(l.progress.done, l.progress.total, { rewrapped: l.progress.rewrapped, failed: l.progress.failed, cursor: l.progress.cursor });
      if (l.done) final = l.done;
    });
    bar.finish();
    if (!final) throw new CliError('the rewrap stopped before it finished; run it again (it continues where it was)', 1);
    out.result(final, () => `rewrapped ${final!.rewrapped}, already current ${final!.current}, failed ${final!.failed} (root key version ${final!.version})`);
    if (final.failed > 0) throw new CliError(`${final.failed} object(s) could not be rewrapped; run again to retry them`, 1);
  },
  'preflight-destroy': async (c, out) => {
    const r = await c.call<{ safe: boolean; recentUseDays: number; blockers: Array<{ tenant: string; id: string; state: string; why: string; lastGetAt: string | null }> }>('GET', '/v1/preflight-destroy');
    out.result(r, () =>
      r.safe
        ? 'safe to tear down: no key is Pre-Active or Active, none was fetched in the last ' + r.recentUseDays + ' days'
        : `NOT safe to tear down: ${r.blockers.length} key(s) still in use\n${table(['TENANT', 'ID', 'STATE', 'LAST GET', 'WHY'], r.blockers.map((b) => [b.tenant, b.id, b.state, b.lastGetAt, b.why]))}`,
    );
    if (!r.safe) process.exitCode = 3;
  },
};

async function main(): Promise<void> {
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const [group, sub, ...rest] = positionals;
  const twoWord = `${group} ${sub ?? ''}`;
  const [handler, args] = commands[twoWord] ? [commands[twoWord], rest] : commands[group!] ? [commands[group!], [sub, ...rest].filter((a): a is string => a !== undefined)] : [undefined, []];
  if (!handler) throw new CliError(`unknown command: ${positionals.join(' ')}\n${USAGE}`, 2);
  const client = new ManagementClient(resolveEndpoint({ adminUrl: values['admin-url'], tokenFile: values['token-file'], dev: values.dev, dataDir: values['data-dir'] }));
  await handler(client, output(values.json), args as string[]);
}

main().catch((err) => {
  if (err instanceof CliError) {
    if (values.json) process.stdout.write(`${JSON.stringify({ error: err.message, ...(typeof err.details === 'object' ? err.details : {}) })}\n`);
    else {
      process.stderr.write(`kmipctl: ${err.message}\n`);
      const blockers = (err.details as { blockers?: Array<{ tenant: string; id: string; state: string; why: string }> } | undefined)?.blockers;
      if (blockers?.length) process.stderr.write(`${table(['TENANT', 'ID', 'STATE', 'WHY'], blockers.map((b) => [b.tenant, b.id, b.state, b.why]))}\n`);
    }
    process.exit(err.exitCode);
  }
  process.stderr.write(`kmipctl: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
