/** What makes one fake provider different from another: schema, rules, fakes and a few hooks. */
import type { Diag } from './diagnostics.js';
import type { FakeCatalog, FakeContext } from './fake-values.js';
import type { ProviderRules } from './rules.js';
import type { JsonProviderSchema } from './schema.js';
import type { ValueRecord } from './values.js';

export interface CompanionObject {
  readonly type: string;
  readonly id: string;
  readonly name: string | undefined;
}

export interface ProviderDefinition {
  /** `ibm` or `time`: the name in the operation log and in FAKE_TF_FAIL's `provider`. */
  readonly name: string;
  readonly schema: JsonProviderSchema;
  readonly rules: ProviderRules;
  /** SDKv2 providers set it (Terraform then tolerates SDK defaults in plans); plugin-framework providers do not. */
  readonly legacyTypeSystem: boolean;
  readonly catalog: FakeCatalog;
  /** Whether created objects live in the fake cloud file (time_sleep has nothing in a cloud). */
  readonly usesCloudStore: boolean;
  regionOf(providerConfig: ValueRecord): string;
  /** Stand-ins for CustomizeDiff checks, run at plan. */
  customizeDiff?(type: string, planned: ValueRecord, prior: ValueRecord | undefined): Diag[];
  /** Checks the provider makes only when it calls the API, run at apply before anything is created. */
  checkApply?(type: string, planned: ValueRecord): Diag[];
  dataAnswer?(ctx: FakeContext, type: string, config: ValueRecord): ValueRecord;
  /** Side effects of creating or deleting (time_sleep sleeps); what it returns goes into the log line. */
  onCreate?(type: string, value: ValueRecord): Promise<{ durationMs?: number }>;
  onDelete?(type: string, prior: ValueRecord): Promise<{ durationMs?: number }>;
  /** Objects that come and go with another one (a VPC's default security group). */
  companions?(type: string, value: ValueRecord): CompanionObject[];
}
