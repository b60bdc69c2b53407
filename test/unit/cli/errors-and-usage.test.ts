/**
 * kmipctl's error codes and help text, as data: every command has its own help, every code its exit
 * code, and a component's own code (vCenter, Key Protect, the server) is kept as `cause` without ever
 * changing the exit code the command chose.
 */
import { describe, expect, it } from 'vitest';
import { adminCommands } from '../../../server/cli/commands/admin.js';
import { backupCommands } from '../../../server/cli/commands/backup.js';
import { keyprotectCommands } from '../../../server/cli/commands/keyprotect.js';
import { maintenanceCommands } from '../../../server/cli/commands/maintenance.js';
import { migrateCommands } from '../../../server/cli/commands/migrate.js';
import { vcenterCommands } from '../../../server/cli/commands/vcenter.js';
import { CLI_CODES, cliCode, CliError, errorDocument, type CliCode } from '../../../server/cli/errors.js';
import { afterCursor } from '../../../server/cli/options.js';
import { commandUsage, helpHint, USAGE } from '../../../server/cli/usage.js';

const COMMANDS = Object.keys({ ...adminCommands, ...maintenanceCommands, ...backupCommands, ...vcenterCommands, ...migrateCommands, ...keyprotectCommands });

describe('kmipctl help', () => {
  it('every command has its own help, naming it first, and appears in the whole text', () => {
    for (const command of COMMANDS) {
      const help = commandUsage(command.split(' '));
      expect(help, command).toBeDefined();
      expect(help!.split('\n')[2], command).toMatch(new RegExp(`^  ${command}( |$)`));
      expect(USAGE).toContain(`\n  ${command}`);
      expect(helpHint(command.split(' '))).toBe(`run 'kmipctl ${command} --help' (or 'kmipctl --help')`);
    }
    expect(commandUsage(['nope'])).toBeUndefined();
    expect(helpHint([])).toBe(`run 'kmipctl --help' (or 'kmipctl <command> --help')`);
  });

  it('a command that needs no server does not list the connection flags', () => {
    expect(commandUsage(['backup', 'verify'])).not.toMatch(/--admin-url/);
    expect(commandUsage(['backup', 'verify'])).toMatch(/--passphrase-file/);
    expect(commandUsage(['keyprotect', 'import-prepare'])).toMatch(/--api-key-file/);
    expect(commandUsage(['rewrap'])).toMatch(/--admin-url/);
  });
});

describe('kmipctl error codes', () => {
  it('the exit code decides when nothing more is known', () => {
    expect(cliCode(new CliError('x', 2))).toBe('USAGE');
    expect(cliCode(new CliError('x', 3))).toBe('REFUSED');
    expect(cliCode(new CliError('x', 1))).toBe('FAILED');
    expect(cliCode(new CliError('x', 1, undefined, 'UNREACHABLE'))).toBe('UNREACHABLE');
  });

  it('vCenter and Key Protect codes map to ours only when the exit code agrees, and stay as cause', () => {
    expect(cliCode(new CliError('x', 1, { code: 'VC_ERR_TLS' }))).toBe('UNREACHABLE');
    expect(cliCode(new CliError('x', 2, { code: 'VC_ERR_INPUT' }))).toBe('USAGE');
    expect(cliCode(new CliError('x', 1, { code: 'WRAP_ERR_AUTH' }))).toBe('UNAUTHORIZED');
    // VC_ERR_AUTH means exit 1; a command that chose exit 2 for it keeps a code of exit 2.
    expect(cliCode(new CliError('x', 2, { code: 'VC_ERR_AUTH' }))).toBe('USAGE');
    expect(errorDocument(new CliError('no provider kp-x', 2, { code: 'VC_ERR_INPUT', knownProviders: ['kp-1'] }))).toEqual({
      error: 'no provider kp-x',
      code: 'USAGE',
      cause: 'VC_ERR_INPUT',
      knownProviders: ['kp-1'],
    });
  });

  it('every code has the exit code the CliError carrying it would exit with', () => {
    for (const [code, { exit }] of Object.entries(CLI_CODES)) {
      expect([1, 2, 3], code).toContain(exit);
      // A command that names the code gets it back, and the help lists it with that exit code.
      expect(cliCode(new CliError('x', exit, undefined, code as CliCode)), code).toBe(code);
      expect(USAGE, code).toMatch(new RegExp(`^  ${code} +${exit}  \\S`, 'm'));
    }
    // The server's own error text is the message: never duplicated into the document.
    expect(errorDocument(new CliError('no tenant named a', 2, { error: 'no tenant named a' }, 'NOT_FOUND'))).toEqual({ error: 'no tenant named a', code: 'NOT_FOUND' });
  });
});

describe('--after', () => {
  it('takes an object ID (a UUID, any case) and nothing else', () => {
    expect(afterCursor(undefined)).toBeUndefined();
    expect(afterCursor('0190F0C4-7C1E-7A2B-9D3E-5F6A7B8C9D0E')).toBe('0190f0c4-7c1e-7a2b-9d3e-5f6a7b8c9d0e');
    for (const bad of ['bogus', '', '12345', '0190f0c4-7c1e-7a2b-9d3e-5f6a7b8c9d0', '0190f0c4-7c1e-7a2b-9d3e-5f6a7b8c9d0e ']) {
      expect(() => afterCursor(bad), bad).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/--after takes an object ID/) }));
    }
  });
});
