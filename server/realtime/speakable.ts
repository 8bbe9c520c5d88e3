// Text as it is written for the screen versus as it is said: citation markers and markdown are
// read out by no one, and the sources are named once, briefly, at the end.

import type { Citation } from '../agent/types.ts';

/** A sentence end: punctuation, optional citation markers or closing quotes, then whitespace. */
const SENTENCE_END = /[.!?…](?:\[\d+\]|["')\]])*\s+/g;
/** Long run-on text is spoken in pieces rather than waiting for a full stop. */
const MAX_SENTENCE = 400;

/** A sentence of the answer as the voice should say it. */
export function speakable(text: string): string {
  return text
    .replace(/\[\d+\]/g, '')
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*\*|__|\*|_)(\S(?:.*?\S)?)\1/g, '$2')
    .replace(/^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s?)/gm, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\s+([,.;:!?])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** "intake-policy_v2.pdf" → "intake policy v2": a name a voice can say. */
export function spokenDocumentName(name: string): string {
  return name
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .replace(/[-_.]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const MAX_DOCUMENTS = 2;

/**
 * One short sentence naming where the answer came from, e.g. "From intake policy, page 4." —
 * at most two documents, their cited pages in order. Null when nothing was cited.
 */
export function spokenSources(citations: readonly Citation[]): string | null {
  const documents = new Map<string, { name: string; pages: string[] }>();
  for (const c of [...citations].sort((a, b) => a.n - b.n)) {
    const doc = documents.get(c.documentId) ?? { name: spokenDocumentName(c.documentName), pages: [] };
    const page = c.pageLabel ?? (c.page === null ? null : String(c.page));
    if (page && !doc.pages.includes(page)) doc.pages.push(page);
    documents.set(c.documentId, doc);
  }
  if (documents.size === 0) return null;
  const parts = [...documents.values()].slice(0, MAX_DOCUMENTS).map(({ name, pages }) => {
    if (pages.length === 0) return name;
    if (pages.length === 1) return `${name}, page ${pages[0]}`;
    return `${name}, pages ${pages.slice(0, -1).join(', ')} and ${pages.at(-1)}`;
  });
  const more = documents.size - MAX_DOCUMENTS;
  return `From ${parts.join(', and ')}${more > 0 ? `, and ${more} more` : ''}.`;
}

/** What of a spoken answer was heard, from each sentence's place in the audio. */
export interface SpokenSentence {
  /** The sentence as written (citation markers kept, so the heard text still cites). */
  text: string;
  startMs: number;
  endMs: number;
}

/** The written text of what played before `audioEndMs`; a sentence cut midway keeps its heard words. */
export function heardText(sentences: readonly SpokenSentence[], audioEndMs: number): string {
  const heard: string[] = [];
  for (const s of sentences) {
    if (s.startMs >= audioEndMs) break;
    if (s.endMs <= audioEndMs) {
      heard.push(s.text);
      continue;
    }
    const share = (audioEndMs - s.startMs) / Math.max(1, s.endMs - s.startMs);
    const cut = s.text.lastIndexOf(' ', Math.round(s.text.length * share));
    if (cut > 0) heard.push(`${s.text.slice(0, cut)}…`);
    break;
  }
  return heard.join(' ');
}

/** Splits streamed text into speakable sentences as it arrives. */
export function createSentenceSplitter(): { push(text: string): string[]; flush(): string[] } {
  let buffer = '';
  const take = (upTo: number) => {
    const sentence = buffer.slice(0, upTo).trim();
    buffer = buffer.slice(upTo);
    return sentence ? [sentence] : [];
  };
  return {
    push(text) {
      buffer += text;
      const out: string[] = [];
      for (;;) {
        SENTENCE_END.lastIndex = 0;
        const match = SENTENCE_END.exec(buffer);
        if (match) out.push(...take(match.index + match[0].length));
        else if (buffer.length > MAX_SENTENCE) out.push(...take(Math.max(buffer.lastIndexOf(' ', MAX_SENTENCE), 1)));
        else return out;
      }
    },
    flush: () => take(buffer.length),
  };
}
