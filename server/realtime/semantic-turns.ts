// How long a pause must last to end the turn under `semantic_vad`: at once when the turn reads as
// finished, longer when the speaker is trailing off, `silence_duration_ms` when nothing can tell.
// Eagerness trades the two mistakes: `high` judges sooner and ends on weaker evidence (fewer
// waits, more turns cut short); `low` lets the speaker take their time. `auto` is `medium`.

import type { Eagerness } from './protocol.ts';
import type { CompletenessJudgement } from './turn-completeness.ts';

export interface EagernessSettings {
  /** Silence after which a pause is judged. */
  pauseMs: number;
  /** Turn-model probability at or above which the pause ends the turn. */
  threshold: number;
  /** Silence that ends a turn judged unfinished. */
  incompleteMs: number;
  /**
   * Silence that ends a turn whose words read as whole, when nothing else backs them (no turn
   * model, no punctuation): "when is the clinic" reads as whole too, and the speaker may go on.
   */
  wordsMs: number;
}

// Tuned on the shared recordings (npm run bench:voice -- --only turn-end); pauses are whole 32 ms
// VAD frames (96 ms is three). Each pause is judged
// once: judged again later, the turn model takes any long silence for an end, mid-sentence too
// (probabilities of 0.1–0.3 at 100 ms rose to 0.7–0.9 at 300 ms), so a second look cut speakers off.
export const EAGERNESS_SETTINGS: Record<Exclude<Eagerness, 'auto'>, EagernessSettings> = {
  low: { pauseMs: 192, threshold: 0.9, incompleteMs: 4_000, wordsMs: 400 },
  medium: { pauseMs: 96, threshold: 0.8, incompleteMs: 2_500, wordsMs: 250 },
  high: { pauseMs: 64, threshold: 0.5, incompleteMs: 1_500, wordsMs: 0 },
};

export const eagernessSettings = (eagerness: Eagerness): EagernessSettings => EAGERNESS_SETTINGS[eagerness === 'auto' ? 'medium' : eagerness];

export interface PauseEvidence {
  /** The words heard so far, judged. */
  text: CompletenessJudgement;
  /** The turn model's probability that the turn is finished, or null without one. */
  turnProbability: number | null;
}

export interface PauseDecision {
  /** Silence (ms, from the start of the pause) that ends the turn; 0 ends it now. */
  waitMs: number;
  reason: string;
}

export function pauseDecision(evidence: PauseEvidence, eagerness: Eagerness, silenceDurationMs: number): PauseDecision {
  const { incompleteMs, threshold, wordsMs } = eagernessSettings(eagerness);
  const { text, turnProbability: p } = evidence;
  const wait = Math.max(incompleteMs, silenceDurationMs);
  // A sentence left on "and", "of the" or "um" is not over, whatever its intonation.
  if (text.verdict === 'incomplete') return { waitMs: wait, reason: `words: ${text.reason}` };
  if (p === null) {
    if (text.verdict === 'unknown') return { waitMs: silenceDurationMs, reason: 'nothing to judge by' };
    return { waitMs: text.punctuated ? 0 : Math.min(wordsMs, silenceDurationMs), reason: `words: ${text.reason}` };
  }
  const sounds = `turn model ${p.toFixed(2)}`;
  if (p >= threshold) return { waitMs: 0, reason: `${sounds}${text.verdict === 'complete' ? `; words: ${text.reason}` : ''}` };
  // The words read as finished but it does not sound it: the fixed timeout.
  if (text.verdict === 'complete') return { waitMs: silenceDurationMs, reason: `${sounds}, words: ${text.reason}` };
  // Ending a turn too soon costs more than waiting: cutting a speaker off makes them repeat it all.
  return { waitMs: wait, reason: `${sounds}: unfinished` };
}
