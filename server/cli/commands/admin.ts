/** Tenants, client certificates and keys. */
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';
import { afterCursor, need } from '../options.js';
import { table } from '../output.js';

export const adminCommands: Record<string, Command> = {
  'tenant add': async ({ client, out, args: [name] }) => {
    const r = await client().call('POST', '/v1/tenants', { name: need(name, 'NAME') });
    out.result(r, () => `tenant ${name} created`);
  },
  'tenant list': async ({ client, out }) => {
    const r = await client().call<{ tenants: Array<{ name: string; createdAt: string; keys: Record<string, number> }> }>('GET', '/v1/tenants');
    const states = ['PreActive', 'Active', 'Deactivated', 'Compromised', 'Destroyed', 'DestroyedCompromised'];
    out.result(r, () => table(['TENANT', ...states.map((s) => s.toUpperCase()), 'CREATED'], r.tenants.map((t) => [t.name, ...states.map((s) => t.keys[s] ?? 0), t.createdAt])));
  },
  'tenant remove': async ({ client, out, args: [name], options: values }) => {
    const tenant = need(name, 'NAME');
    const q = new URLSearchParams(values.force ? { force: 'true', confirm: values.confirm ?? '' } : {});
    const r = await client().call('DELETE', `/v1/tenants/${encodeURIComponent(tenant)}${q.size ? `?${q}` : ''}`);
    out.result(r, () => `tenant ${tenant} removed with its keys and certificates`);
  },
  'cert add': async ({ client, out, options: values }) => {
    const pemFile = need(values.pem, '--pem FILE');
    let pem: string;
    try {
      pem = readFileSync(pemFile, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${pemFile}: ${(err as Error).message}`, 2);
    }
    const r = await client().call<{ fingerprint: string; notAfter: string }>('POST', '/v1/certs', {
      tenant: need(values.tenant, '--tenant NAME'),
      pem,
      ...(values.name ? { label: values.name } : {}),
      ...(values.ca ? { kind: 'ca', subject: need(values.subject, '--subject (with --ca)') } : {}),
    });
    out.result(r, () => `registered ${r.fingerprint} to tenant ${values.tenant} (valid until ${r.notAfter})`);
  },
  'cert list': async ({ client, out, options: values }) => {
    const r = await client().call<{ certificates: Array<{ fingerprint: string; tenant: string; label: string; kind: string; notAfter: string }> }>(
      'GET',
      `/v1/certs${values.tenant ? `?tenant=${encodeURIComponent(values.tenant)}` : ''}`,
    );
    out.result(r, () => table(['FINGERPRINT', 'TENANT', 'KIND', 'LABEL', 'NOT AFTER'], r.certificates.map((x) => [x.fingerprint, x.tenant, x.kind, x.label, x.notAfter])));
  },
  'cert remove': async ({ client, out, args: [fp] }) => {
    const fingerprint = need(fp, 'FINGERPRINT').toLowerCase().replace(/:/g, '');
    const r = await client().call<{ connectionsClosed: number }>('DELETE', `/v1/certs/${fingerprint}`);
    out.result(r, () => `removed ${fingerprint}; ${r.connectionsClosed} connection(s) closed`);
  },
  'keys list': async ({ client, out, options: values }) => {
    const after = afterCursor(values.after);
    const q = new URLSearchParams({ ...(values.tenant ? { tenant: values.tenant } : {}), ...(values.state ? { state: values.state } : {}), ...(after ? { after } : {}) });
    const r = await client().call<{ keys: Array<Record<string, string | null>>; next: string | null }>('GET', `/v1/keys${q.size ? `?${q}` : ''}`);
    // KMIP NAME is the Name a KMIP client gave (PyKMIP, a script); VCENTER NAME is vCenter's own x-Name tag.
    out.result(r, () =>
      [
        table(
          ['ID', 'TENANT', 'STATE', 'CREATED', 'LAST GET', 'KMIP NAME', 'COMPONENT', 'VCENTER NAME', 'IDENTIFIER'],
          r.keys.map((k) => [k['id'], k['tenant'], k['state'], k['created'], k['lastGet'], k['kmipName'], k['component'], k['name'], k['identifier']]),
        ),
        ...(r.next ? [`more: kmipctl keys list${values.tenant ? ` --tenant ${values.tenant}` : ''}${values.state ? ` --state ${values.state}` : ''} --after ${r.next}`] : []),
      ].join('\n'),
    );
  },
  'keys revoke': async ({ client, out, args: [id], options: values }) => {
    const r = await client().call('POST', `/v1/keys/${encodeURIComponent(need(id, 'ID'))}/revoke`, { tenant: need(values.tenant, '--tenant NAME'), ...(values.reason ? { reason: values.reason } : {}) });
    out.result(r, () => `key ${id} revoked`);
  },
  'keys destroy': async ({ client, out, args: [id], options: values }) => {
    const r = await client().call('POST', `/v1/keys/${encodeURIComponent(need(id, 'ID'))}/destroy`, { tenant: need(values.tenant, '--tenant NAME') });
    out.result(r, () => `key ${id} destroyed`);
  },
};
