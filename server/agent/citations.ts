import { quotedPage } from '../kb/passage.ts';
import { sentences } from './excerpt.ts';
import type { ShownPassage } from './context.ts';
import type { Citation, Passage } from './types.ts';

// Citation markers in generated text. Models write [2], [2, 5], [2-4], sometimes [Passage 2];
// the writer rewrites them as the text streams: numbers that refer to no passage the model was
// shown are removed (with the space before them), the rest are renumbered in order of first
// appearance ([1], [2], …) so the reader sees a tidy sequence. A marker is only let through once
// it is complete, so the streamed deltas add up exactly to the final answer text.

const BODY = String.raw`\d{1,3}(?:\s*(?:,|;|&|and|-|–|—)\s*\d{1,3})*`;
const MARKER_SOURCE = String.raw`\[\s*(?:(?:passages?|sources?|refs?)\s*)?(${BODY})\s*\]`;
/** A whole marker, matched at a given position. */
const MARKER_AT = new RegExp(MARKER_SOURCE, 'iy');
/** Text after a "[" that may still turn into a marker as more arrives. */
const MARKER_PREFIX = /^\[[\p{L}\d\s,;&–—-]{0,30}$/u;
const MAX_RANGE = 20;

/** The passage numbers in a marker body: "2, 4-6" → [2, 4, 5, 6]. */
export function markerNumbers(body: string): number[] {
  const out: number[] = [];
  for (const part of body.split(/\s*(?:,|;|&|and)\s*/i)) {
    const [a, b] = part.split(/\s*[-–—]\s*/).map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    if (b === undefined || !Number.isInteger(b)) out.push(a);
    else if (b >= a && b - a <= MAX_RANGE) for (let n = a; n <= b; n++) out.push(n);
    else out.push(a, b);
  }
  return [...new Set(out)];
}

/** A citation of a passage by its quote: it names the page the quoted words are on (see quotedPage). */
export function toCitation(n: number, p: Passage, quote: string): Citation {
  const page = quotedPage(p, quote);
  return { n, chunkId: p.chunkId, documentId: p.documentId, documentName: p.documentName, page: page?.number ?? null, pageLabel: page?.label ?? null, quote };
}

/** Whether `text` holds a marker naming at least one passage the model was shown. */
export function citesShown(text: string, resolve: (n: number) => ShownPassage | undefined): boolean {
  for (const m of text.matchAll(new RegExp(MARKER_SOURCE, 'gi'))) if (markerNumbers(m[1]!).some((n) => resolve(n))) return true;
  return false;
}

/** Removes citation markers (and the space before them), e.g. from earlier answers in the history. */
export function stripCitationMarkers(text: string): string {
  return text.replace(new RegExp(String.raw`[^\S\n]*${MARKER_SOURCE}`, 'gi'), '');
}

/** The claim a marker at the end of `text` supports: the last sentence, without its own markers. */
function claimBefore(text: string): string {
  const last = sentences(stripCitationMarkers(text.slice(-600)))
    .map((s) => s.trim())
    .filter(Boolean);
  return last.at(-1) ?? '';
}

export interface CitationWriterOptions {
  /** The passage a number the model used refers to, if it was shown one. */
  resolve: (n: number) => ShownPassage | undefined;
  /** A readable quote of the passage for the claim it supports. */
  quote: (shown: ShownPassage, claim: string) => string;
  onCitation?: ((citation: Citation) => void) | undefined;
}

export class CitationWriter {
  readonly citations: Citation[] = [];
  readonly #options: CitationWriterOptions;
  /** Model number → displayed number. */
  readonly #display = new Map<number, number>();
  #raw = '';
  #pos = 0;
  #out = '';

  constructor(options: CitationWriterOptions) {
    this.#options = options;
  }

  /** The rewritten text so far. */
  get text(): string {
    return this.#out;
  }

  /** Takes generated text; returns the rewritten text that is now safe to show. */
  push(delta: string): string {
    this.#raw += delta;
    return this.#advance(false);
  }

  /** The rest, once generation has ended (trailing whitespace dropped). */
  end(): string {
    return this.#advance(true);
  }

  #advance(final: boolean): string {
    const raw = this.#raw;
    let emitted = '';
    while (this.#pos < raw.length) {
      const bracket = raw.indexOf('[', this.#pos);
      if (bracket < 0) {
        // Trailing whitespace waits: it is dropped if a removed marker or the end follows.
        const stop = raw.trimEnd().length;
        if (stop > this.#pos) emitted += raw.slice(this.#pos, stop);
        this.#pos = final ? raw.length : Math.max(this.#pos, stop);
        break;
      }
      let space = bracket;
      while (space > this.#pos && /\s/.test(raw[space - 1]!)) space--;
      emitted += raw.slice(this.#pos, space);
      this.#pos = space;
      MARKER_AT.lastIndex = bracket;
      const marker = MARKER_AT.exec(raw);
      if (marker) {
        const rewritten = this.#cite(marker[1]!, this.#out + emitted);
        if (rewritten) emitted += raw.slice(space, bracket) + rewritten;
        this.#pos = bracket + marker[0].length;
        continue;
      }
      if (!final && MARKER_PREFIX.test(raw.slice(bracket))) break;
      emitted += raw.slice(space, bracket + 1);
      this.#pos = bracket + 1;
    }
    if (this.#out === '') emitted = emitted.trimStart();
    this.#out += emitted;
    return emitted;
  }

  #cite(body: string, before: string): string {
    const shown = markerNumbers(body)
      .map((n) => this.#options.resolve(n))
      .filter((s) => s !== undefined);
    if (shown.length === 0) return '';
    const claim = claimBefore(before);
    const numbers = shown.map((s) => {
      let n = this.#display.get(s.n);
      if (n === undefined) {
        n = this.citations.length + 1;
        this.#display.set(s.n, n);
        const citation = toCitation(n, s.passage, this.#options.quote(s, claim));
        this.citations.push(citation);
        this.#options.onCitation?.(citation);
      }
      return n;
    });
    return `[${[...new Set(numbers)].sort((a, b) => a - b).join(', ')}]`;
  }
}

/** Rewrites a whole text at once (non-streaming use). */
export function rewriteCitations(text: string, options: CitationWriterOptions): { text: string; citations: Citation[] } {
  const writer = new CitationWriter(options);
  writer.push(text);
  writer.end();
  return { text: writer.text, citations: writer.citations };
}
