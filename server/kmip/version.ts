/** Protocol versions as 10×major+minor (1.1 → 11, 2.1 → 21): small, comparable, and what the generated tables use. */
export type KmipVersion = number;

export const SUPPORTED_VERSIONS: readonly KmipVersion[] = [21, 20, 14, 13, 12, 11, 10];
export const NEWEST_1X: KmipVersion = 14;

export function versionCode(major: number, minor: number): KmipVersion {
  return major * 10 + minor;
}

export function versionParts(v: KmipVersion): { major: number; minor: number } {
  return { major: Math.floor(v / 10), minor: v % 10 };
}

export function formatVersion(v: KmipVersion): string {
  const { major, minor } = versionParts(v);
  return `${major}.${minor}`;
}

export function isSupportedVersion(major: number, minor: number): boolean {
  return minor >= 0 && minor <= 9 && SUPPORTED_VERSIONS.includes(versionCode(major, minor));
}

export function is2x(v: KmipVersion): boolean {
  return v >= 20;
}

export function inRange(v: KmipVersion, since: number | undefined, until: number | null | undefined): boolean {
  return (since === undefined || v >= since) && (until === undefined || until === null || v <= until);
}
