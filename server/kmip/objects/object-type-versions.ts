/**
 * Which KMIP versions define each object type (the spec tables: PGP Key from 1.2, Template up to 1.4,
 * Certificate Request from 2.0): an object of a type the client's version lacks is not served to it.
 */
import { ENUM_TABLE } from '../generated/enums.js';
import { inRange, type KmipVersion } from '../version.js';

const OBJECT_TYPE_VERSIONS = new Map(ENUM_TABLE.find((e) => e.name === 'ObjectType')!.values.map((v) => [v.value, v]));

export function objectTypeExistsIn(version: KmipVersion, objectType: number): boolean {
  const v = OBJECT_TYPE_VERSIONS.get(objectType);
  return v !== undefined && inRange(version, v.since, v.until);
}
