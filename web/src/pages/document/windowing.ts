// The arithmetic behind the virtualised document view: how tall a page probably is before it has
// been rendered, where each page starts, and which pages a scroll position needs. A 400-page
// manual rendered whole is a ~312,000 px page that stays blank for seconds; the view renders only
// the pages near the viewport and stands in for the rest with their estimated heights, so the
// scrollbar stays the length of the whole document.

/** What is known about a page before it is rendered. */
export interface PageSize {
  /** Characters of text on the page. */
  chars: number;
  /** Blocks (paragraphs, headings, rows…) on the page: each adds spacing of its own. */
  blocks: number;
}

/** Px per estimated line until a rendered page teaches better. */
export const DEFAULT_LINE_PX = 26;

/**
 * A page's height in lines: its text wrapped at `charsPerLine`, plus a line of spacing per block
 * and three for the page separator. Only proportions matter: `pageHeights` scales to pixels.
 */
export function roughLines(size: PageSize, charsPerLine: number): number {
  const perLine = Math.max(10, charsPerLine);
  return 3 + size.blocks + Math.ceil(size.chars / perLine);
}

/**
 * Pixel heights: measured ones as they are, the others from their rough lines at the px per line
 * that the measured pages show (the fonts and the column width are whatever the browser made of them).
 */
export function pageHeights(rough: readonly number[], measured: ReadonlyMap<number, number>): number[] {
  let px = 0;
  let lines = 0;
  for (const [i, h] of measured) {
    px += h;
    lines += rough[i] ?? 0;
  }
  const perLine = lines > 0 ? px / lines : DEFAULT_LINE_PX;
  return rough.map((r, i) => measured.get(i) ?? r * perLine);
}

/** Where each page starts; the last entry is the total height. */
export function offsets(heights: readonly number[]): number[] {
  const out = [0];
  for (const h of heights) out.push((out.at(-1) ?? 0) + h);
  return out;
}

/** The page that holds position `y` (clamped to the document). */
export function pageAt(starts: readonly number[], y: number): number {
  const pages = starts.length - 1;
  if (pages <= 0) return 0;
  let lo = 0;
  let hi = pages - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Inclusive range of page indexes. */
export type PageRange = readonly [first: number, last: number];

/** The pages that overlap [top, bottom) (positions within the document view). */
export function pagesBetween(starts: readonly number[], top: number, bottom: number): PageRange {
  return [pageAt(starts, top), pageAt(starts, Math.max(top, bottom - 1))];
}

/** The pages to render when opening at `index`: one before it (for context above) and two after. */
export function around(index: number, pages: number): PageRange {
  return [Math.max(0, index - 1), Math.min(pages - 1, index + 2)];
}

export const sameRange = (a: PageRange, b: PageRange) => a[0] === b[0] && a[1] === b[1];
