// Is what the speaker has said so far a finished question or statement, or are they trailing off
// mid-sentence? Judged from the words alone (English), for semantic turn detection: a turn whose
// last word leaves the sentence open ("…the dose of", "…and", "um") waits longer for the rest; one
// that reads as whole ends at the first short pause. Streaming recognisers give lower-case words
// without punctuation, so the rules read words; punctuation is used when a recogniser has it.

export type Completeness = 'complete' | 'incomplete' | 'unknown';

export interface CompletenessJudgement {
  verdict: Completeness;
  /** Why, for logs and tests. */
  reason: string;
  /**
   * A complete verdict from the recogniser's own full stop or question mark. Without one, words
   * that read as whole may still go on ("when is the clinic … open on Saturday").
   */
  punctuated?: boolean;
}

const set = (words: string) => new Set(words.split(/\s+/));

/** Hesitations: the speaker is still thinking. */
const FILLERS = set('um umm uh uhh er erm eh hmm mm mhm ah');
/** Words that open a clause or a list item and need what follows. */
const CONJUNCTIONS = set('and or but nor so because cause cos if unless although though while whereas than as whether plus');
const PREPOSITIONS = set('of to in on at for with about from by into onto over under between through during without within toward towards across against among around behind below beneath beside besides beyond near per via upon like');
/** Articles and determiners: a noun must follow. */
const DETERMINERS = set('a an the my your his her its our their some any every each either neither several many much few more most another such');
/** Hedges and intensifiers that leave the phrase hanging. */
const HANGING = set('very really quite rather just i');
/** Two-word trails: "…you know", "…kind of". */
const TRAILING_PAIRS = ['you know', 'i mean', 'kind of', 'sort of', 'like um', 'and then', 'and so', 'or maybe', 'such as', 'for example', 'as well as', 'rather than', 'in order'];
/** "What is it made of": the few words after which "of" ends a question; elsewhere a noun must follow. */
const STRANDS_OF = set('made consist consists composed think thinking heard afraid aware sure capable full');
/** Words that open a subordinate clause: "if I cancel late" still needs its main clause. */
const SUBORDINATORS = set('if unless because although though whereas while until once since when where before after whenever wherever');
/** A subordinate clause this short has not reached its main clause yet. */
const SHORT_CLAUSE_WORDS = 5;
const QUESTION_WORDS = set('what who whom whose where when why how which');
const AUXILIARIES = set('is are was were am be do does did can could will would shall should may might must have has had');

const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[’']/g, "'")
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);

/** The judgement of a (partial) transcript. */
export function judgeCompleteness(transcript: string): CompletenessJudgement {
  const text = transcript.trim();
  const all = words(text);
  const last = all.at(-1);
  if (!last) return { verdict: 'unknown', reason: 'no words yet' };
  // A recogniser that repeats one token ("a a a a") is not giving language to judge.
  if (all.length >= 3 && new Set(all).size === 1) return { verdict: 'unknown', reason: 'one token repeated' };
  if (/(\.\.\.|…|[-–—,;:])\s*$/.test(text)) return { verdict: 'incomplete', reason: 'ends in a comma, dash or ellipsis' };
  const pair = all.slice(-2).join(' ');
  if (all.length >= 2 && TRAILING_PAIRS.includes(pair)) return { verdict: 'incomplete', reason: `ends with "${pair}"` };
  if (FILLERS.has(last)) return { verdict: 'incomplete', reason: `ends with the filler "${last}"` };
  const first = all[0] ?? '';
  const question = QUESTION_WORDS.has(first) || (AUXILIARIES.has(first) && all.length >= 3);
  if (CONJUNCTIONS.has(last)) return { verdict: 'incomplete', reason: `ends with the conjunction "${last}"` };
  if (DETERMINERS.has(last)) return { verdict: 'incomplete', reason: `ends with the determiner "${last}"` };
  if (HANGING.has(last)) return { verdict: 'incomplete', reason: `ends with "${last}"` };
  if (PREPOSITIONS.has(last)) {
    // "What is it made of", "Who do I send it to": questions may end on a preposition; whether
    // this one does the words cannot tell, so the fixed timeout decides.
    const before = all.at(-2) ?? '';
    const stranded = last === 'of' ? STRANDS_OF.has(before) : !DETERMINERS.has(before) && !PREPOSITIONS.has(before);
    if (question && all.length >= 4 && stranded) return { verdict: 'unknown', reason: `a question ending with the preposition "${last}"` };
    return { verdict: 'incomplete', reason: `ends with the preposition "${last}"` };
  }
  // "What is", "How do": a question word and an auxiliary, and nothing asked yet.
  if (all.length <= 2 && QUESTION_WORDS.has(first) && (all.length === 1 || AUXILIARIES.has(last))) return { verdict: 'incomplete', reason: 'a question not yet asked' };
  if (AUXILIARIES.has(last) && !question && all.length <= 3) return { verdict: 'incomplete', reason: `ends with the verb "${last}"` };
  // "When is…" asks; "when I take it" opens a clause. Punctuation from the recogniser settles it.
  const clause = SUBORDINATORS.has(first) && !AUXILIARIES.has(all[1] ?? '') && all.length >= 2 && all.length <= SHORT_CLAUSE_WORDS;
  if (clause && !/[.?!]\s*$/.test(text)) return { verdict: 'incomplete', reason: `a clause opened by "${first}" with no main clause yet` };
  if (/[.?!]\s*$/.test(text)) return { verdict: 'complete', reason: 'ends with a full stop or question mark', punctuated: true };
  if (question) return { verdict: 'complete', reason: 'a whole question' };
  return { verdict: 'complete', reason: 'ends on a content word' };
}
