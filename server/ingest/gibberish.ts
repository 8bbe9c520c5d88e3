// Text that is not language. A damaged or fuzzed PDF can hand a text extractor its own drawing
// instructions ("Tj /A 1 Tf 0.1 0 0 -0.1 497.4 …") as if they were words; indexed, they fill search
// with noise and answers with nonsense. Such text is mostly PDF operators, resource names and
// numbers — while a table of figures, however numeric, has no operators in it.

import type { Block } from './types.ts';

const OPERATOR = /^(BT|ET|Tj|TJ|Tf|Td|TD|Tm|T\*|Tc|Tw|Tz|TL|Tr|Ts|cm|re|f\*?|S|B\*?|b\*?|W\*?|q|Q|gs|Do|rg|RG|cs|CS|sc|SC|scn|SCN|BI|ID|EI|BDC|BMC|EMC|BX|EX|sh|d0|d1)$/;
const NAME = /^\/[^\s/]+$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)$/;
/** Fewer words than this say too little to judge. */
const MIN_TOKENS = 12;
/** Enough of a page's text to judge it: a sample, so a long document is never copied whole. */
const SAMPLE_CHARS = 8_000;

/** Whether `text` reads as PDF drawing instructions rather than language. */
export function isDrawingInstructions(text: string): boolean {
  const tokens = text.slice(0, SAMPLE_CHARS).split(/\s+/).filter(Boolean);
  if (tokens.length < MIN_TOKENS) return false;
  let operators = 0;
  let numbers = 0;
  for (const token of tokens) {
    if (OPERATOR.test(token) || NAME.test(token)) operators++;
    else if (NUMBER.test(token)) numbers++;
  }
  return operators / tokens.length >= 0.2 && (operators + numbers) / tokens.length >= 0.7;
}

/**
 * Blocks grouped by page (one group for an unpaged document), without the groups whose text is
 * drawing instructions; `dropped` counts those groups (pages).
 */
export function withoutDrawingInstructions(blocks: readonly Block[]): { blocks: Block[]; dropped: number; pages: number } {
  const groups = new Map<number, Block[]>();
  for (const block of blocks) {
    const key = block.page ?? 0;
    const group = groups.get(key);
    if (group) group.push(block);
    else groups.set(key, [block]);
  }
  const bad = new Set<number>();
  for (const [page, group] of groups) if (isDrawingInstructions(sampleOf(group))) bad.add(page);
  if (bad.size === 0) return { blocks: [...blocks], dropped: 0, pages: groups.size };
  return { blocks: blocks.filter((b) => !bad.has(b.page ?? 0)), dropped: bad.size, pages: groups.size };
}

/** The start of a group's text (code excluded), up to the sample's length. */
function sampleOf(group: readonly Block[]): string {
  const parts: string[] = [];
  let length = 0;
  for (const block of group) {
    if (block.kind === 'code') continue;
    parts.push(block.text);
    length += block.text.length + 1;
    if (length >= SAMPLE_CHARS) break;
  }
  return parts.join(' ');
}
