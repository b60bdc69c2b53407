import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TestVector {
  readonly id: string;
  readonly description: string;
  readonly request_hex?: string;
  readonly request_decoded?: readonly string[];
  readonly response_hex: string;
  readonly response_decoded: readonly string[];
}

export function loadKmip11Vectors(): readonly TestVector[] {
  const path = fileURLToPath(new URL('../fixtures/kmip11-test-vectors.json', import.meta.url));
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { vectors: TestVector[] };
  return doc.vectors;
}
