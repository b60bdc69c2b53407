import { describe, expect, it } from 'vitest';
import { ENUM_TABLE, ResultReason } from '../../../server/kmip/generated/enums.js';
import { reasonForVersion, type ResultReasonCode } from '../../../server/kmip/errors.js';

const VERSIONS = [10, 11, 12, 13, 14, 20, 21];
const REASONS = ENUM_TABLE.find((e) => e.name === 'ResultReason')!.values;

describe('Result Reasons per protocol version', () => {
  it('never sends a client a reason its protocol version does not define', () => {
    for (const version of VERSIONS) {
      for (const { value } of REASONS) {
        const sent = reasonForVersion(value as ResultReasonCode, version);
        const info = REASONS.find((r) => r.value === sent)!;
        expect(info, `0x${value.toString(16)} for ${version}`).toBeDefined();
        expect(info.since, `0x${value.toString(16)} → 0x${sent.toString(16)} for ${version}`).toBeLessThanOrEqual(version);
        if (info.until !== null) expect(info.until).toBeGreaterThanOrEqual(version);
      }
    }
  });

  it('keeps the reason where the version has it and picks the nearest older one where it does not', () => {
    expect(reasonForVersion(ResultReason.KeyValueNotPresent, 12)).toBe(ResultReason.KeyValueNotPresent);
    expect(reasonForVersion(ResultReason.KeyValueNotPresent, 11)).toBe(ResultReason.MissingData);
    expect(reasonForVersion(ResultReason.Sensitive, 14)).toBe(ResultReason.Sensitive);
    expect(reasonForVersion(ResultReason.Sensitive, 13)).toBe(ResultReason.PermissionDenied);
    expect(reasonForVersion(ResultReason.ObjectAlreadyExists, 10)).toBe(ResultReason.InvalidField);
    expect(reasonForVersion(ResultReason.EncodingOptionError, 10)).toBe(ResultReason.FeatureNotSupported);
    expect(reasonForVersion(ResultReason.ObjectNotFound, 11)).toBe(ResultReason.ItemNotFound);
    expect(reasonForVersion(ResultReason.ItemNotFound, 20)).toBe(ResultReason.ObjectNotFound);
  });
});
