// Answer text with its [n] citation markers, split into pieces the answer view renders as text
// nodes and links. Pure: the markers come from a model, so anything odd stays plain text.
import type { Citation } from '../api.ts';

export type AnswerPiece = { text: string } | { citation: Citation };

// "[1]", and lists such as "[1, 2]" or "[1,3]", which models write as often.
const MARKER = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/** Splits `text` at citation markers whose numbers are all known; other brackets stay text. */
export function splitCitations(text: string, citations: readonly Citation[]): AnswerPiece[] {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const out: AnswerPiece[] = [];
  let at = 0;
  const addText = (s: string) => {
    if (!s) return;
    const last = out.at(-1);
    if (last && 'text' in last) last.text += s;
    else out.push({ text: s });
  };
  for (const m of text.matchAll(MARKER)) {
    const cited = (m[1] ?? '').split(',').map((n) => byN.get(Number(n.trim())));
    if (cited.some((c) => !c)) continue;
    addText(text.slice(at, m.index));
    for (const c of cited) if (c) out.push({ citation: c });
    at = m.index + m[0].length;
  }
  addText(text.slice(at));
  return out;
}

/** Paragraphs of an answer: blank lines separate them; single line breaks stay inside. */
export const paragraphs = (text: string): string[] =>
  text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean);
