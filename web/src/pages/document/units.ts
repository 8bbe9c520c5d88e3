// A document's text cut into the units the viewer renders one at a time: its pages, or for a
// document without pages (HTML, Markdown, text) slices of blocks, so a long unpaged document is
// windowed the same way. Pure, so the cutting is tested beside it.
import type { ContentBlock, DocContent } from '../../api.ts';
import type { PageSize } from './windowing.ts';

export interface Unit {
  /** The page number; null for a slice of an unpaged document. */
  page: number | null;
  label: string | null;
  blocks: ContentBlock[];
}

/** Blocks per slice of an unpaged document: roughly a printed page's worth. */
export const SLICE_BLOCKS = 40;

export function unitsOf(content: DocContent): Unit[] {
  const pages = content.pages ?? [];
  if (pages.length > 0) {
    const byPage = new Map<number, ContentBlock[]>();
    for (const b of content.blocks) {
      const n = b.page ?? pages[0]?.number ?? 1;
      const list = byPage.get(n);
      if (list) list.push(b);
      else byPage.set(n, [b]);
    }
    return pages.map((p) => ({ page: p.number, label: p.label, blocks: byPage.get(p.number) ?? [] }));
  }
  const units: Unit[] = [];
  let slice: ContentBlock[] = [];
  content.blocks.forEach((b, i) => {
    slice.push(b);
    const next = content.blocks[i + 1];
    // A list or table is never cut in two: its second half would lose the header and numbering.
    const run = next && (b.kind === 'list-item' || b.kind === 'table-row') && next.kind === b.kind;
    if (slice.length >= SLICE_BLOCKS && !run) {
      units.push({ page: null, label: null, blocks: slice });
      slice = [];
    }
  });
  if (slice.length > 0) units.push({ page: null, label: null, blocks: slice });
  return units;
}

export function sizeOf(unit: Unit): PageSize {
  let chars = 0;
  for (const b of unit.blocks) chars += b.text.length;
  return { chars, blocks: Math.max(1, unit.blocks.length) };
}
