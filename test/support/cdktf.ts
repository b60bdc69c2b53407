/**
 * vitest adapter for cdktf's framework-neutral Testing matchers (cdktf ships Jest typings only), plus small
 * helpers to read a synthesized stack. Property matching is cdktf's: partial, and camelCase/snake_case blind.
 */
import { Testing, type TerraformStack } from 'cdktf';
import { expect } from 'vitest';

interface CdktfMatchers<R = unknown> {
  toHaveResource(resourceType: string): R;
  toHaveResourceWithProperties(resourceType: string, properties: Record<string, unknown>): R;
  toHaveDataSource(dataSourceType: string): R;
  toHaveDataSourceWithProperties(dataSourceType: string, properties: Record<string, unknown>): R;
  toHaveProviderWithProperties(providerType: string, properties: Record<string, unknown>): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends CdktfMatchers<T> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends CdktfMatchers {}
}

const short = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

function matcher(check: (received: string, type: string, props?: Record<string, unknown>) => boolean, what: string) {
  return function (this: { isNot: boolean }, received: unknown, type: string, props?: Record<string, unknown>) {
    if (typeof received !== 'string') throw new TypeError(`expected the string from Testing.synth / synthScope, got ${typeof received}`);
    const pass = check(received, type, props);
    return {
      pass,
      message: () =>
        `expected the synthesized stack ${this.isNot ? 'not ' : ''}to have ${what} ${type}${props ? ` with ${short(props)}` : ''}; it has: ${short(
          Object.keys((JSON.parse(received) as Record<string, Record<string, unknown>>)[what === 'data source' ? 'data' : 'resource']?.[type] ?? {}),
        )}`,
    };
  };
}

expect.extend({
  toHaveResource: matcher((r, t) => Testing.toHaveResource(r, t), 'resource'),
  toHaveResourceWithProperties: matcher((r, t, p) => Testing.toHaveResourceWithProperties(r, t, p ?? {}), 'resource'),
  toHaveDataSource: matcher((r, t) => Testing.toHaveDataSource(r, t), 'data source'),
  toHaveDataSourceWithProperties: matcher((r, t, p) => Testing.toHaveDataSourceWithProperties(r, t, p ?? {}), 'data source'),
  toHaveProviderWithProperties: matcher((r, t, p) => Testing.toHaveProviderWithProperties(r, t, p ?? {}), 'provider'),
});

export interface SynthDoc {
  readonly resource?: Record<string, Record<string, Record<string, unknown>>>;
  readonly data?: Record<string, Record<string, Record<string, unknown>>>;
  readonly output?: Record<string, { value: unknown; sensitive?: boolean; description?: string }>;
  readonly variable?: Record<string, Record<string, unknown>>;
  readonly provider?: Record<string, unknown>;
  readonly terraform?: Record<string, unknown>;
}

export function synth(stack: TerraformStack): string {
  return Testing.synth(stack);
}

export function parse(synthesized: string): SynthDoc {
  return JSON.parse(synthesized) as SynthDoc;
}

/** Every resource of a type, in synthesis order. */
export function resourcesOf(doc: SynthDoc, type: string): Record<string, unknown>[] {
  return Object.values(doc.resource?.[type] ?? {});
}
