import { stemmer } from 'stemmer';
import { eng } from 'stopword';

// Text analysis shared by indexing and querying, so both sides agree on every term.
//
// Words are found in the original text (so highlighting can return the surface form the reader
// sees), then each word is normalised on its own: NFKC folds compatibility forms (ligatures,
// full-width digits), lowercasing is locale-independent, and diacritics are folded only on Latin
// letters — stripping marks from Cyrillic or Devanagari would change letters, not accents.
// English stopwords are dropped and Porter stemming applies only to purely Latin-alphabetic
// words; anything with a digit is kept verbatim so "M8x1.25" or "ISO-9001" stay findable.
// Han/Kana runs have no spaces, so they are indexed as overlapping bigrams (the Lucene CJK
// analyser's approach): any two-character query then matches inside a longer run.

/**
 * Bumped whenever analysis output changes: a persisted keyword index built with other terms is
 * then rebuilt from the stored chunks instead of being loaded.
 */
export const ANALYZER_VERSION = 1;

export interface AnalyzedToken {
  /** The word exactly as it appears in the source text. */
  surface: string;
  /** The index terms it produced (possibly none, e.g. for a stopword). */
  terms: string[];
}

// A word: letters/digits/marks, optionally joined by connectors that commonly sit inside
// identifiers, numbers and compounds ("iso-9001", "1.25", "e-mail", "t_cell", "don't").
const WORD = /[\p{L}\p{N}\p{M}]+(?:[-.,_/'’][\p{L}\p{N}\p{M}]+)*/gu;
const CONNECTOR = /[-.,_/]/;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/u;
const CJK_SPLIT = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+)/u;
const LATIN_ALPHA = /^[a-z]+$/;
const LATIN_LETTER_WITH_MARKS = /(\p{Script=Latin})(\p{M}+)/gu;
const APOSTROPHE = /['’]/g;
const POSSESSIVE = /['’]s$/;
const DIGIT = /\p{N}/u;

// Letters that Unicode does not decompose but that readers treat as their ASCII spelling.
const FOLD: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ł: 'l', þ: 'th', ı: 'i' };
const FOLDABLE = new RegExp(`[${Object.keys(FOLD).join('')}]`, 'gu');

export const STOPWORDS: ReadonlySet<string> = new Set(eng);

export function normalise(word: string): string {
  return word
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(LATIN_LETTER_WITH_MARKS, '$1')
    .normalize('NFC')
    .replace(FOLDABLE, (c) => FOLD[c] ?? c);
}

function bigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** Terms of one connector-free piece: CJK runs become bigrams, Latin words are stemmed. */
function pieceTerms(piece: string, out: string[]): void {
  if (CJK.test(piece)) {
    for (const segment of piece.split(CJK_SPLIT)) {
      if (!segment) continue;
      if (CJK.test(segment)) out.push(...bigrams(segment));
      else pieceTerms(segment, out);
    }
    return;
  }
  if (STOPWORDS.has(piece)) return;
  out.push(LATIN_ALPHA.test(piece) ? stemmer(piece) : piece);
}

function wordTerms(word: string): string[] {
  const folded = normalise(word).replace(POSSESSIVE, '').replace(APOSTROPHE, '');
  const out: string[] = [];
  // NFKC can expand one character into several words ("½" → "1⁄2"), so re-split.
  for (const [w] of folded.matchAll(WORD)) {
    const parts = w.split(CONNECTOR).filter(Boolean);
    for (const part of parts) pieceTerms(part, out);
    if (parts.length > 1 && DIGIT.test(w)) {
      // Identifiers and numbers: the whole form and its separator-free spelling as well, so
      // "ISO-9001", "iso9001" and "M8x1.25" all find it.
      out.push(w);
      const joined = parts.join('');
      if (joined !== w) out.push(joined);
    }
  }
  return out;
}

/**
 * A Han/Kana run is one "word" of a whole sentence; highlighting wants only the stretches whose
 * bigrams matched (and any Latin piece inside the run that matched on its own).
 */
function cjkMatches(surface: string, terms: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const segment of surface.split(CJK_SPLIT)) {
    if (!segment) continue;
    if (!CJK.test(segment)) {
      if (wordTerms(segment).some((t) => terms.has(t))) out.push(segment);
      continue;
    }
    const chars = [...segment];
    const folded = chars.map(normalise);
    const covered = chars.map(() => false);
    if (chars.length === 1) covered[0] = terms.has(folded[0]!);
    for (let i = 0; i + 1 < chars.length; i++) {
      if (terms.has(folded[i]! + folded[i + 1]!)) covered[i] = covered[i + 1] = true;
    }
    let run = '';
    chars.forEach((c, i) => {
      if (covered[i]) run += c;
      else if (run) {
        out.push(run);
        run = '';
      }
    });
    if (run) out.push(run);
  }
  return out;
}

// Vocabulary is Zipfian: a small memo of word → terms removes most normalising and stemming.
const MEMO_LIMIT = 100_000;

export interface Analyzer {
  /** The index terms of `text`, in order, duplicates kept (term frequency matters for ranking). */
  analyze(text: string): string[];
  /** Every word of `text` with the index terms it produced, in order. */
  tokens(text: string): AnalyzedToken[];
  /**
   * The surface forms in `text` that produced any of `terms`, in order of first occurrence,
   * each spelling once (case-sensitively: highlighting needs the exact spelling).
   */
  surfaceForms(text: string, terms: ReadonlySet<string>): string[];
}

export function createAnalyzer(): Analyzer {
  const memo = new Map<string, string[]>();
  const termsOf = (surface: string): string[] => {
    let terms = memo.get(surface);
    if (!terms) {
      if (memo.size >= MEMO_LIMIT) memo.clear();
      terms = wordTerms(surface);
      memo.set(surface, terms);
    }
    return terms;
  };
  return {
    analyze(text) {
      const out: string[] = [];
      for (const [surface] of text.matchAll(WORD)) {
        for (const term of termsOf(surface)) out.push(term);
      }
      return out;
    },
    tokens(text) {
      return Array.from(text.matchAll(WORD), ([surface]) => ({ surface, terms: termsOf(surface) }));
    },
    surfaceForms(text, terms) {
      const found = new Set<string>();
      for (const [surface] of text.matchAll(WORD)) {
        if (found.has(surface) || !termsOf(surface).some((t) => terms.has(t))) continue;
        if (CJK.test(surface)) for (const part of cjkMatches(surface, terms)) found.add(part);
        else found.add(surface);
      }
      return [...found];
    },
  };
}
