// Entity tags (RFC 9110 §8.8.3) for tasks: a task's ETag is its version in quotes, strong, since
// one version has exactly one representation. The spec checks the syntax of If-Match and
// If-None-Match (its EntityTags schema); this reads what they name.

export const etagOf = (version: number): string => `"${version}"`;

/** The largest version the database holds (an int column). */
const MAX_VERSION = 2_147_483_647;

function entityTags(header: string): { weak: boolean; opaque: string }[] {
  return [...header.matchAll(/(W\/)?"([^"]*)"/g)].map((m) => ({ weak: m[1] !== undefined, opaque: m[2]! }));
}

/**
 * The versions an If-Match header accepts, or undefined when any existing task does (no header,
 * or `*`). Strong comparison: a weak tag never matches, nor does a tag this service never issued,
 * so such a header accepts no version at all (an empty list: 412 for a task that exists).
 */
export function ifMatchVersions(header: string | undefined): number[] | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  return entityTags(header)
    .filter((tag) => !tag.weak && /^[1-9]\d{0,9}$/.test(tag.opaque) && Number(tag.opaque) <= MAX_VERSION)
    .map((tag) => Number(tag.opaque));
}

/** Whether If-None-Match names the task's current version (weak comparison, RFC 9110 §13.1.2), or is `*`. */
export function ifNoneMatchHits(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return entityTags(header).some((tag) => tag.opaque === String(version));
}
