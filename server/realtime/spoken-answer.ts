// What of an answer is said aloud. The screen gets the whole written answer and its citations; the
// voice says only what can be listened to: the one or two sentences that answer the question, within
// the organisation's `voice.answerSeconds`, then the short spoken source. Nobody listens to 95 s of
// quoted passages.

import { speakable } from './speakable.ts';

/**
 * Speech rate used to turn seconds into characters. espeak-ng says 15.6 characters a second (95 s
 * for a 1,483-character answer; 16.7/s on a short one), the Piper voices about the same: 15 errs
 * on the short side.
 */
export const CHARACTERS_PER_SECOND = 15;
/** Kept back from the budget for the spoken source ("From the breast cancer guide, page 10."). */
const SOURCES_SECONDS = 3;
const MIN_ANSWER_CHARS = 60;

/** Characters of answer (the spoken source apart) that fit in `seconds` of speech. */
export function answerCharacters(seconds: number): number {
  return Math.max(MIN_ANSWER_CHARS, Math.round((seconds - SOURCES_SECONDS) * CHARACTERS_PER_SECOND));
}

const STOP_WORDS = new Set(
  'the and are was were who whom whose what when where which why how can could should would will shall may might must does did have has had for from with without into onto about this that these those there their them they you your yours our ours its his her she him not but any all some get got use used using also than then too very just such only own same other more most much many each few both out off over under again once here why'.split(' '),
);

/** Content words, folded and cut to a 5-letter stem so that "develops" meets "developing". */
function terms(text: string): Set<string> {
  const out = new Set<string>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (word.length < 3 || STOP_WORDS.has(word)) continue;
    out.add(word.slice(0, 5));
  }
  return out;
}

/** "… In Australia, breast cancer is … rare. It can …" → its sentences, without the ellipses of a cut quote. */
function sentencesOf(quote: string): string[] {
  return quote
    .replace(/^\s*…\s*|\s*…\s*$/g, '')
    .split(/(?<=[.!?])["”’)]*\s+(?=["“‘(]?[\p{Lu}\p{N}])/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The quotes of an extractive answer ("1. “…” — guide.pdf, page 10 [1]"), each with its citation number. */
export function extractiveQuotes(answer: string): Array<{ n: number; quote: string }> {
  const quotes: Array<{ n: number; quote: string }> = [];
  for (const m of answer.matchAll(/^\d+\. “([\s\S]*?)” — [^\n]*\[(\d+)\]\s*$/gm)) quotes.push({ n: Number(m[2]), quote: m[1]! });
  return quotes;
}

/** Shortens text to at most `max` characters at a clause or word boundary. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max - 1);
  const clause = Math.max(head.lastIndexOf(', '), head.lastIndexOf('; '), head.lastIndexOf(': '));
  const cut = clause > max / 2 ? clause : head.lastIndexOf(' ');
  return `${head.slice(0, cut > 0 ? cut : head.length).trimEnd()}…`;
}

/**
 * The one or two sentences of an extractive answer's quotes that best answer the question, in
 * the order they stand, each ending with its citation marker (so what was heard still cites).
 * Scored by the question's content words each holds, rarer words weighing more; a tie goes to
 * the shorter, then the earlier (a better-ranked passage). The best is cut short if it alone is
 * too long (a weaker sentence that fits would not answer). Empty when the answer quotes nothing.
 */
export function bestSentences(answer: string, question: string, maxChars: number): string[] {
  const candidates = extractiveQuotes(answer).flatMap(({ n, quote }) => sentencesOf(quote).map((text) => ({ n, text, terms: terms(text) })));
  if (candidates.length === 0) return [];
  const wanted = [...terms(question)];
  const weight = new Map(wanted.map((t) => [t, 1 + Math.log(candidates.length / Math.max(1, candidates.filter((c) => c.terms.has(t)).length))]));
  const scored = candidates.map((c, at) => ({ ...c, at, score: wanted.reduce((sum, t) => sum + (c.terms.has(t) ? weight.get(t)! : 0), 0) }));
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.text.length - b.text.length || a.at - b.at);
  const best = ranked[0]!;
  const first = best.text.length <= maxChars ? best : { ...best, text: clip(best.text, maxChars) };
  // A second sentence only from the same passage, where it reads as the first one's context.
  const room = maxChars - first.text.length - 1;
  const second = ranked.find((c) => c !== best && c.n === best.n && c.text.length <= room && c.score > 0 && c.score >= best.score / 2);
  const chosen = second ? [first, second] : [first];
  return chosen.sort((a, b) => a.at - b.at).map((c) => `${c.text} [${c.n}]`);
}

/**
 * Decides, as the answer is written, which of its sentences are said. A generative answer is
 * said from its start, sentence by sentence as it streams, until the next sentence would pass the
 * budget (a first sentence longer than all of it is cut short). An extractive answer comes in one
 * piece: what its first delta completes is held until the answer says which kind it is, and an
 * extractive one is said as its best sentences instead.
 */
export class SpokenAnswer {
  readonly #question: string;
  #left: number;
  #held: string[] = [];
  #deltas = 0;
  #full = false;
  #said = 0;
  readonly #cited = new Set<number>();

  constructor(question: string, maxChars: number) {
    this.#question = question;
    this.#left = maxChars;
  }

  /** Citation numbers of what was said: the spoken source names these. */
  get cited(): ReadonlySet<number> {
    return this.#cited;
  }

  /** Sentences completed by one streamed delta; returns those to say now. */
  written(sentences: string[]): string[] {
    this.#deltas += 1;
    this.#held.push(...sentences);
    return this.#deltas === 1 ? [] : this.#take(this.#held.splice(0));
  }

  /** The answer is complete (`rest`: the sentences its last piece completed); returns what is left to say. */
  finished(answer: { answer: string; mode: 'generative' | 'extractive' }, rest: string[]): string[] {
    this.#held.push(...rest);
    const best = answer.mode === 'extractive' && this.#deltas <= 1 ? bestSentences(answer.answer, this.#question, this.#left) : [];
    return this.#take(best.length > 0 ? best : this.#held.splice(0));
  }

  #take(sentences: string[]): string[] {
    const out: string[] = [];
    for (const sentence of sentences) {
      if (this.#full) break;
      const length = speakable(sentence).length;
      if (length === 0) continue;
      let said = sentence;
      if (length > this.#left) {
        this.#full = true;
        if (this.#said > 0) break;
        said = clip(sentence, this.#left + (sentence.length - length));
      }
      this.#left -= speakable(said).length + 1;
      this.#said += 1;
      for (const m of said.matchAll(/\[(\d+)\]/g)) this.#cited.add(Number(m[1]));
      out.push(said);
    }
    return out;
  }
}
