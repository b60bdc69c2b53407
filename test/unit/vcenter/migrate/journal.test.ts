/** The migration journal on disk: synced records, a torn last line survives, another migration's journal is refused. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal } from '../../../../server/vcenter/migrate/journal.js';

const dir = mkdtempSync(join(tmpdir(), 'kmip-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const who = { vcenter: 'vc.example', from: 'old', to: 'new' };

describe('the migration journal', () => {
  it('keeps each object’s history across reopening: the key to reuse, the change in flight, a template round trip', () => {
    const path = join(dir, 'a.journal');
    const j = Journal.open(path, who);
    j.record('vm:vm-1', { event: 'key', keyId: 'K1' });
    j.record('vm:vm-1', { event: 'sent', keyId: 'K1', changeVersion: 'cv1', oldKeys: ['O1', 'O2'] });
    j.record('template:vm-2', { event: 'converted' });
    j.record('host:h-1', { event: 'key', keyId: 'K2' });
    j.record('host:h-1', { event: 'done', keyId: 'K2' });
    j.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = Journal.open(path, who);
    expect(again.of('vm:vm-1')).toMatchObject({ keyId: 'K1', pendingChangeVersion: 'cv1', done: false, converted: false });
    expect(again.of('template:vm-2')).toMatchObject({ converted: true, done: false });
    expect(again.of('host:h-1')).toMatchObject({ keyId: 'K2', done: true });
    expect(again.of('vm:none')).toMatchObject({ records: [], done: false });
    expect(again.newKeys().sort()).toEqual(['K1', 'K2']);
    expect(again.oldKeys().sort()).toEqual(['O1', 'O2']);
    again.close();
  });

  it('drops a torn last line (a kill in the middle of a write) and refuses damage anywhere else', () => {
    const path = join(dir, 'torn.journal');
    const j = Journal.open(path, who);
    j.record('vm:vm-1', { event: 'key', keyId: 'K1' });
    j.close();
    appendFileSync(path, '{"at":"2026-12-07T00:00:00Z","id":"vm:vm-1","ev');
    const reopened = Journal.open(path, who);
    expect(reopened.of('vm:vm-1').keyId).toBe('K1');
    reopened.record('vm:vm-1', { event: 'done', keyId: 'K1' });
    reopened.close();
    expect(readFileSync(path, 'utf8')).not.toContain('"ev{');
    expect(Journal.open(path, who).of('vm:vm-1')).toMatchObject({ keyId: 'K1', done: true });
    // Damage before the last line is not a torn write: refused rather than guessed around.
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(1, 0, '{"id":"vm:vm-9", broken');
    writeFileSync(path, lines.join('\n'));
    expect(() => Journal.open(path, who)).toThrow(/unreadable line 2/);
  });

  it('refuses the journal of another migration and a file that is not a journal', () => {
    const path = join(dir, 'b.journal');
    Journal.open(path, who).close();
    expect(() => Journal.open(path, { ...who, to: 'other' })).toThrow(/belongs to another migration \(to new, not other\)/);
    const notJournal = join(dir, 'c.journal');
    writeFileSync(notJournal, '{"format":"something else"}\n');
    expect(() => Journal.open(notJournal, who)).toThrow(/not a migration journal/);
  });
});
