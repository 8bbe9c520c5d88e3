// Pure helpers behind <mark> highlighting. Server text is only ever split into strings here and
// rendered as text nodes, so nothing it contains can become markup.

/** Half-open [start, end) character range. */
export type Range = readonly [start: number, end: number];

export interface Segment {
  text: string;
  marked: boolean;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Sorted, non-overlapping union of `ranges`; adjacent ranges are joined. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter(([s, e]) => e > s).toSorted((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/**
 * Where any of `terms` occurs in `text` as a whole word, ignoring case. Terms are the surface
 * forms the search engine matched, so a word-boundary match finds exactly those and not, say,
 * "art" inside "start".
 */
export function termRanges(text: string, terms: readonly string[]): Range[] {
  const words = [...new Set(terms.map((t) => t.trim()).filter(Boolean))].toSorted((a, b) => b.length - a.length);
  if (words.length === 0) return [];
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return mergeRanges([...text.matchAll(pattern)].map((m) => [m.index, m.index + m[0].length] as const));
}

/** `range` (in document offsets) relative to a block that starts at `offset` and holds `length` characters; null when they do not overlap. */
export function clipRange(range: Range, offset: number, length: number): Range | null {
  const start = Math.max(range[0] - offset, 0);
  const end = Math.min(range[1] - offset, length);
  return end > start ? [start, end] : null;
}

/**
 * The part of `passage` (document offsets) on page `page`: from the first of its blocks on that
 * page to the last; the whole passage when none of it is on that page. A citation names one page
 * of a passage that may run over several, and the view opens on that part.
 */
export function rangeOnPage(passage: Range, blocks: readonly { page: number | null; start: number; end: number }[], page: number): Range {
  let start = Infinity;
  let end = -Infinity;
  for (const b of blocks) {
    if (b.page !== page || b.end <= passage[0] || b.start >= passage[1]) continue;
    start = Math.min(start, b.start);
    end = Math.max(end, b.end);
  }
  return start < end ? [Math.max(start, passage[0]), Math.min(end, passage[1])] : passage;
}

/** Splits `text` into alternating plain and marked pieces; `ranges` may be unsorted or overlap. */
export function splitMarked(text: string, ranges: readonly Range[]): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const [s, e] of mergeRanges(ranges.map(([s, e]) => [Math.max(0, s), Math.min(text.length, e)] as const))) {
    if (s > at) out.push({ text: text.slice(at, s), marked: false });
    out.push({ text: text.slice(s, e), marked: true });
    at = e;
  }
  if (at < text.length || out.length === 0) out.push({ text: text.slice(at), marked: false });
  return out;
}

export interface Excerpt {
  text: string;
  ranges: Range[];
  /** Whether text was left out before or after. */
  clippedStart: boolean;
  clippedEnd: boolean;
}

/**
 * A window of about `max` characters of `text` holding as many of `ranges` as possible, cut at
 * word boundaries, with the ranges moved into the window's coordinates. Long passages stay
 * scannable in a result list while still showing why they matched.
 */
export function excerpt(text: string, ranges: readonly Range[], max: number): Excerpt {
  const merged = mergeRanges(ranges);
  if (text.length <= max) return { text, ranges: merged, clippedStart: false, clippedEnd: false };
  // Start at the range that has the most other ranges within `max` after it.
  let best = 0;
  let bestCount = -1;
  for (const [i, [s]] of merged.entries()) {
    const count = merged.slice(i).filter(([, e]) => e <= s + max).length;
    if (count > bestCount) [best, bestCount] = [s, count];
  }
  // Some words of context before the first match, then snap both ends to whitespace.
  let start = Math.max(0, Math.min(best - Math.floor(max / 5), text.length - max));
  let end = Math.min(text.length, start + max);
  if (start > 0) start = text.indexOf(' ', start) + 1 || start;
  if (end < text.length) end = text.lastIndexOf(' ', end) > start ? text.lastIndexOf(' ', end) : end;
  const shifted = merged.map(([s, e]) => clipRange([s, e], start, end - start)).filter((r): r is Range => r !== null);
  return { text: text.slice(start, end), ranges: shifted, clippedStart: start > 0, clippedEnd: end < text.length };
}
