// Running headers and footers: the chapter name and page number a printed document repeats at
// the top or bottom of its pages ("2 Row and Column Access Control Support in IBM DB2", "What is
// cancer? 5"). Left in, they interrupt passages mid-sentence at every page break and, read as
// headings, end up in the heading path of every passage after them. A line at a page's edge is
// taken for one when it carries a page number and, without it, repeats at that edge on other
// pages or is the name of a section; bare page numbers go too, and so do "This page intentionally
// left blank" notices anywhere. (PDF lines already lose margin lines repeated on many pages in
// formats/pdf.ts; this catches those that change with each section, and works for any paged format.)

import type { Block } from './types.ts';

/** How many blocks at a page's top and bottom are looked at. */
const EDGE = 2;
const MAX_LENGTH = 120;
/** A repeated line shorter than this ("Step", "Table") may be a real heading numbered in sequence. */
const MIN_REPEATED = 12;
const BLANK_NOTICE = /^(this page (has been |is )?(intentionally|deliberately) left blank|intentionally left blank)\.?$/i;
const NUMBER_AT_START = /^(\d{1,4}|[ivxlcdm]{1,7})\s+(?=\S)/i;
const NUMBER_AT_END = /(?<=\S)\s+(\d{1,4}|[ivxlcdm]{1,7})$/i;
const PAGE_NUMBER = /^(page\s+)?\d{1,4}(\s+(of|\/)\s+\d{1,4})?$/i;

const key = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

/** The text of a numbered running line without its number, or null when it carries none. */
function unnumbered(text: string): string | null {
  if (text.length > MAX_LENGTH) return null;
  const stripped = text.replace(NUMBER_AT_START, '').replace(NUMBER_AT_END, '');
  return stripped === text ? null : key(stripped);
}

export function withoutRunningLines(blocks: readonly Block[]): { blocks: Block[]; removed: number } {
  const pages = new Map<number, Block[]>();
  for (const block of blocks) {
    if (block.page === undefined) continue;
    const group = pages.get(block.page);
    if (group) group.push(block);
    else pages.set(block.page, [block]);
  }
  // An unpaged document has no page edges.
  if (pages.size === 0) return { blocks: [...blocks], removed: 0 };
  const headings = new Set(blocks.filter((b) => b.kind === 'heading').map((b) => key(b.text)));
  const edges: Array<{ block: Block; edge: 'top' | 'bottom'; page: number }> = [];
  for (const [page, group] of pages) {
    group.slice(0, EDGE).forEach((block) => edges.push({ block, edge: 'top', page }));
    group.slice(Math.max(EDGE, group.length - EDGE)).forEach((block) => edges.push({ block, edge: 'bottom', page }));
  }
  // On how many pages each numbered line, without its number, stands at each edge.
  const seen = new Map<string, Set<number>>();
  for (const { block, edge, page } of edges) {
    const text = unnumbered(block.text);
    if (text === null) continue;
    const at = `${edge}:${text}`;
    seen.set(at, (seen.get(at) ?? new Set()).add(page));
  }
  const bareNumbers = edges.filter(({ block }) => PAGE_NUMBER.test(block.text)).length;
  const running = new Set<Block>();
  for (const { block, edge } of edges) {
    if (PAGE_NUMBER.test(block.text)) {
      if (bareNumbers >= 3) running.add(block);
      continue;
    }
    const text = unnumbered(block.text);
    if (text === null || text === '') continue;
    const repeated = text.length >= MIN_REPEATED && (seen.get(`${edge}:${text}`)?.size ?? 0) >= 2;
    const sectionName = headings.has(text) && block.kind !== 'heading';
    if (repeated || sectionName) running.add(block);
  }
  const kept = blocks.filter((b) => !running.has(b) && !BLANK_NOTICE.test(b.text.trim()));
  return { blocks: kept, removed: blocks.length - kept.length };
}
