/**
 * A failing input saved for replay: the exact bytes as hex, with what is needed to send them the
 * same way (principal, TLS record splits) and why they failed in '#' comment lines, which
 * parseHex skips. `npm run fuzz -- --replay FILE` sends one back.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHex, toHex } from '../../server/ttlv/index.js';
import type { FuzzInput, Principal } from './mutators.js';

export interface SavedFailure {
  readonly file: string;
  readonly index: number;
  readonly reason: string;
}

const RESPONSE_HEX_KEPT = 4096;

export function saveFailure(dir: string, seed: number, input: FuzzInput, reason: string, responses: readonly Uint8Array[]): SavedFailure {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fuzz-${seed}-${input.index}.hex`);
  const hex = toHex(input.bytes).replace(/(.{64})/g, '$1\n');
  const lines = [
    '# kmip-for-vmware fuzz failure',
    `# seed ${seed} index ${input.index}`,
    `# principal ${input.principal}`,
    `# splits ${input.splits.join(',')}`,
    `# recipe ${input.recipe.join(' ')}`,
    `# verdict ${reason.replace(/\n/g, ' ')}`,
    ...responses.map((r, n) => `# response ${n} ${toHex(r).slice(0, RESPONSE_HEX_KEPT)}`),
    `# replay: npm run fuzz -- --replay ${file}`,
    hex,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, index: input.index, reason };
}

/** Reads a saved failure back as an input. */
export function loadFailure(file: string): FuzzInput {
  const text = readFileSync(file, 'utf8');
  const field = (name: string) => new RegExp(`^# ${name} (.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const principal = (field('principal') || 'registered') as Principal;
  const splits = field('splits') ? field('splits').split(',').map(Number) : [];
  const index = Number(/^# seed \d+ index (\d+)/m.exec(text)?.[1] ?? 0);
  return { index, principal, bytes: parseHex(text), splits, recipe: ['replay', file] };
}
