import type { Analyzer } from '../search/analyzer.ts';
import type { Passage } from './types.ts';

// Whether the passages found can answer a question at all, before anyone quotes them. A search
// always finds something ("clinic parking policy" matches every passage that says "policy"), and
// its score alone says little: it is the share of the question's terms the best hit has, so the
// common word carries as much as the one the question is about. Here each word of the question
// weighs by how rare it is among the passages found, and a word none of them has weighs as much as
// the rarest ("parking", "metformin", "WebSphere"): the documents are likely silent on exactly that.
// (Weighing a missing word more still, as 2 + ln N, refused two more unanswerable questions of the
// bench's set but also answerable ones phrased in other words: "what does a new patient *need*".)

/**
 * Words a question is phrased with that no passage answers with. The analyzer keeps them (they
 * carry meaning inside documents: "does", "when"), but a passage need not contain "why" to say why,
 * nor "needed" or "near" to say what is needed near welding ("a fire extinguisher within reach").
 */
const QUESTION_WORDS = [
  'who whom whose what which when where why how does do did can could should must may might would will shall is are was were',
  'need needed tell describe explain detail details give show mean means happen happens get make know want',
  'near about after before during within between into over under',
].join(' ');

/** Passages (best first) among which the one covering the question should be. */
const COVERING_DEPTH = 3;

/**
 * The share of the question's information the best of the first passages holds, in [0, 1]: each
 * distinct content word of the question weighs 1 + ln(N / df) over the N passages (df: how many
 * contain it), a word in none of them as one in a single passage; the passage's share is the weight of the words it
 * contains over the weight of all. 0 when there are no passages or no content words.
 */
export function coverage(analyzer: Analyzer, question: string, passages: readonly Passage[]): number {
  const skip = new Set(analyzer.analyze(QUESTION_WORDS));
  const terms = [...new Set(analyzer.analyze(question))].filter((t) => !skip.has(t));
  if (terms.length === 0 || passages.length === 0) return 0;
  const sets = passages.map((p) => new Set(analyzer.analyze(p.text)));
  // Two passages at least, so that with one passage its words still weigh more than 1.
  const n = Math.max(2, sets.length);
  const weight = new Map<string, number>();
  for (const term of terms) {
    const df = sets.filter((s) => s.has(term)).length;
    weight.set(term, 1 + Math.log(n / Math.max(1, df)));
  }
  const total = [...weight.values()].reduce((a, b) => a + b, 0);
  let best = 0;
  for (const set of sets.slice(0, COVERING_DEPTH)) {
    let held = 0;
    for (const [term, w] of weight) if (set.has(term)) held += w;
    best = Math.max(best, held / total);
  }
  return best;
}
