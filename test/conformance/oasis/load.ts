/** Loads an OASIS test-case file into its ordered request/response exchanges, as XML elements (decoded per step, once placeholders are known). */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseXml, type XmlElement } from '../../../server/kmip/xml/index.js';
import { ALTERNATIVE_POLICY } from './tolerances.js';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/oasis-kmip-testcases/', import.meta.url));
export const FOLDERS = ['1.4/mandatory', '1.4/optional', '2.1/mandatory', '2.1/optional'] as const;

export interface Step {
  readonly request: XmlElement;
  readonly response: XmlElement;
}

export interface TestCase {
  /** "SKLC-M-1-14". */
  readonly name: string;
  readonly folder: string;
  readonly steps: readonly Step[];
}

/** Requests and responses alternate; anything else in the file is a broken fixture. */
export function loadCase(folder: string, file: string): TestCase {
  const roots = parseXml(readFileSync(join(FIXTURES, folder, file), 'utf8'));
  const messages = roots.length === 1 && roots[0]!.name === 'KMIP' ? roots[0]!.children : roots;
  const steps: Step[] = [];
  for (let i = 0; i < messages.length; i += 2) {
    const [request, response] = [messages[i]!, messages[i + 1]];
    if (request.name !== 'RequestMessage' || response?.name !== 'ResponseMessage') {
      throw new Error(`${folder}/${file}: message ${i} is <${request.name}> followed by <${response?.name ?? 'nothing'}>, not a request and its response`);
    }
    steps.push({ request, response });
  }
  const tc = { name: basename(file, '.xml'), folder, steps };
  const policy = ALTERNATIVE_POLICY[tc.name];
  return policy === undefined ? tc : withPolicyOf(tc, loadCase(folder, `${policy}.xml`));
}

/** The element without its Client Correlation Values (free text that names the case), as comparable text. */
function withoutCorrelation(e: XmlElement): string {
  if (e.name === 'ClientCorrelationValue') return '';
  return `<${e.name} ${JSON.stringify([...e.attributes])}>${e.children.map(withoutCorrelation).join('')}</${e.name}>`;
}

/** `tc` answered as `policy` expects: only for files whose requests are the same (tolerances.ts: alternative policies). */
export function withPolicyOf(tc: TestCase, policy: TestCase): TestCase {
  const same = tc.steps.length === policy.steps.length && tc.steps.every((s, i) => withoutCorrelation(s.request) === withoutCorrelation(policy.steps[i]!.request));
  if (!same) throw new Error(`${tc.name}: its requests differ from ${policy.name}'s, so it is not an alternative policy for the same requests`);
  return { ...tc, steps: tc.steps.map((s, i) => ({ request: s.request, response: policy.steps[i]!.response })) };
}

/** A folder's cases in name order (TL-M-3 reads what TL-M-2 made). */
export function caseFiles(folder: string): string[] {
  return readdirSync(join(FIXTURES, folder))
    .filter((f) => f.endsWith('.xml'))
    .sort();
}
