// Index names. Every organisation has its own index, so no ranking statistics (word frequencies,
// typo candidates, vector neighbourhoods) and no indexing work are shared between tenants.
// Meilisearch allows [A-Za-z0-9_-] in an index uid; `_` is kept as the separator, so neither the
// prefix nor an organisation id may contain it and every name parses one way:
//
//   <prefix>_<organisation>            the index searches read
//   <prefix>_<organisation>_<build>    a rebuild in progress, swapped in when it completes
//   <prefix>__meta                     the recorded generation (no organisation id is empty)

const PART = /^[A-Za-z0-9-]{1,100}$/;
const BUILD = /^[a-z0-9]{1,32}$/;

export function assertPrefix(prefix: string): void {
  if (!PART.test(prefix)) throw new TypeError(`Meilisearch index prefix "${prefix}" must be 1-100 letters, digits or hyphens`);
}

/** The organisation's index; throws for an id that cannot be part of an index name. */
export function organisationIndex(prefix: string, organisationId: string, build: string | null = null): string {
  if (typeof organisationId !== 'string' || organisationId === '') throw new TypeError('a search filter must name the organisation');
  if (!PART.test(organisationId)) throw new TypeError(`organisation id "${organisationId}" cannot name a Meilisearch index (letters, digits and hyphens only)`);
  if (build !== null && !BUILD.test(build)) throw new TypeError(`build id "${build}" is not [a-z0-9]`);
  return build === null ? `${prefix}_${organisationId}` : `${prefix}_${organisationId}_${build}`;
}

export const metaIndex = (prefix: string): string => `${prefix}__meta`;

export interface ParsedIndex {
  organisationId: string;
  build: string | null;
}

/** What an index of this prefix is, or null for the meta index and anything not ours. */
export function parseIndex(prefix: string, uid: string): ParsedIndex | null {
  if (!uid.startsWith(`${prefix}_`)) return null;
  const parts = uid.slice(prefix.length + 1).split('_');
  const [organisationId, build] = parts;
  if (parts.length > 2 || !organisationId || !PART.test(organisationId)) return null;
  if (build !== undefined && !BUILD.test(build)) return null;
  return { organisationId, build: build ?? null };
}

/** A new build id: its start time in base 36 first, so a forgotten build's age can be read from its name. */
export function newBuildId(now: number, random: () => number = Math.random): string {
  return `${now.toString(36)}${Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0')}`;
}

/** When a build id (see newBuildId) was started, in milliseconds; null when it does not say. */
export function buildStartedAt(build: string): number | null {
  const time = Number.parseInt(build.slice(0, -4), 36);
  return Number.isFinite(time) ? time : null;
}
