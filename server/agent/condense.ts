import type { ChatMessage } from '../llm/llm.ts';
import type { Analyzer } from '../search/analyzer.ts';
import { stripCitationMarkers } from './citations.ts';
import { sentences } from './excerpt.ts';
import type { HistoryTurn } from './types.ts';

// Earlier turns of a conversation, within a token budget, without an extra model call.
//
// The model sees whole exchanges (a question and its answer): the latest verbatim, older ones cut
// to their opening. Unanswered questions (failed or cancelled) are left out of the messages, which
// also keeps roles alternating as strict chat templates require. Citation markers are removed from
// earlier answers: their numbers referred to that turn's passages, and a model that copies "[2]"
// from history would cite whatever passage carries number 2 now.
//
// The window over exchanges is chosen for prefix caching: while the history fits it only grows at
// the end, so every request repeats the previous one's messages byte for byte; when it overflows
// it drops the oldest exchanges down to half the budget at once, so the next several turns again
// share their prefix instead of shifting by one exchange every turn.

export interface CondenseOptions {
  budget: number;
  countTokens: (text: string) => number;
  /** Older exchanges keep this many tokens of each message. */
  olderTurnTokens?: number;
}

/** Template tokens around each chat message (role markers, separators). */
export const MESSAGE_OVERHEAD = 6;
const ELLIPSIS = '…';

/** `text` cut at a sentence or word boundary to at most `maxTokens`. */
export function truncateTokens(text: string, maxTokens: number, countTokens: (text: string) => number): string {
  if (countTokens(text) <= maxTokens) return text;
  const words = text.split(/(?<=\s)/);
  let lo = 0;
  let hi = words.length;
  // Binary search on the number of words: token counts grow with the prefix.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countTokens(`${words.slice(0, mid).join('').trimEnd()} ${ELLIPSIS}`) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  const cut = words.slice(0, lo).join('').trimEnd();
  if (!cut) return '';
  // Ending on a whole sentence reads better, when it costs less than a third of what fits.
  const whole = /[.!?。！？]$/u.test(cut) ? cut : sentences(cut).slice(0, -1).join('').trimEnd();
  return whole.length >= cut.length * 0.67 ? `${whole} ${ELLIPSIS}` : `${cut}${ELLIPSIS}`;
}

interface Exchange {
  user: string;
  assistant: string;
}

function exchanges(history: readonly HistoryTurn[]): Exchange[] {
  const out: Exchange[] = [];
  for (let i = 0; i + 1 < history.length; i++) {
    const [turn, reply] = [history[i]!, history[i + 1]!];
    if (turn.role !== 'user' || reply.role !== 'assistant') continue;
    const user = turn.content.trim();
    const assistant = stripCitationMarkers(reply.content).trim();
    if (user && assistant) out.push({ user, assistant });
    i++;
  }
  return out;
}

export function condenseHistory(history: readonly HistoryTurn[], options: CondenseOptions): ChatMessage[] {
  const { budget, countTokens, olderTurnTokens = 80 } = options;
  const all = exchanges(history);
  if (all.length === 0 || budget <= 0) return [];
  const rendered = new Map<string, Exchange & { tokens: number }>();
  const render = (i: number, latest: boolean) => {
    const key = `${i}:${latest}`;
    let r = rendered.get(key);
    if (!r) {
      const e = all[i]!;
      const cut = (text: string) => (latest ? text : truncateTokens(text, olderTurnTokens, countTokens));
      const user = cut(e.user);
      const assistant = cut(e.assistant);
      r = { user, assistant, tokens: countTokens(user) + countTokens(assistant) + 2 * MESSAGE_OVERHEAD };
      rendered.set(key, r);
    }
    return r;
  };
  // Replay how the window moved as the conversation grew, so it is the same on every turn.
  let start = 0;
  for (let last = 0; last < all.length; last++) {
    let total = 0;
    for (let i = start; i <= last; i++) total += render(i, i === last).tokens;
    if (total <= budget) continue;
    while (start < last && total > budget / 2) {
      total -= render(start, false).tokens;
      start++;
    }
  }
  const messages: ChatMessage[] = [];
  let used = 0;
  for (let i = start; i < all.length; i++) {
    const latest = i === all.length - 1;
    let { user, assistant } = render(i, latest);
    const left = budget - used - 2 * MESSAGE_OVERHEAD;
    if (latest && countTokens(user) + countTokens(assistant) > left) {
      // The latest exchange alone exceeds what is left: the question keeps up to half.
      user = truncateTokens(user, Math.floor(left / 2), countTokens);
      assistant = truncateTokens(assistant, left - countTokens(user), countTokens);
      if (!user || !assistant) break;
    }
    messages.push({ role: 'user', content: user }, { role: 'assistant', content: assistant });
    used += countTokens(user) + countTokens(assistant) + 2 * MESSAGE_OVERHEAD;
  }
  return messages;
}

// Follow-ups: "and how often?" means nothing to a search index on its own. A question counts as a
// follow-up when it has few content words, opens like a continuation, or leans on a pronoun;
// its search query then borrows the words of the user's previous questions.

const CONTINUATION = /^\s*(and|or|but|also|so|then|what about|how about|what if|und|et|y|e|en|ou|oder)\b/i;
const ANAPHORA = /\b(it|its|they|them|their|this|these|those|he|she|him|her|his|former|latter)\b/i;
const MIN_OWN_TERMS = 3;
const ENOUGH_TERMS = 6;
const BORROWED_TURNS = 2;
const BORROWED_CHARS = 300;

export function isFollowUp(analyzer: Analyzer, question: string): boolean {
  const own = new Set(analyzer.analyze(question)).size;
  return own < MIN_OWN_TERMS || CONTINUATION.test(question) || (ANAPHORA.test(question) && own < 5);
}

/** The search query for a question: itself, or for a follow-up, itself plus the recent user questions. */
export function searchQuery(analyzer: Analyzer, question: string, history: readonly HistoryTurn[]): string {
  const earlier = history.filter((t) => t.role === 'user' && t.content.trim() !== '').map((t) => t.content.trim());
  if (earlier.length === 0 || !isFollowUp(analyzer, question)) return question;
  const parts = [question.trim()];
  const terms = new Set(analyzer.analyze(question));
  for (const turn of earlier.reverse().slice(0, BORROWED_TURNS)) {
    if (terms.size >= ENOUGH_TERMS) break;
    const text = turn.slice(0, BORROWED_CHARS);
    parts.push(text);
    for (const term of analyzer.analyze(text)) terms.add(term);
  }
  return parts.join(' ');
}
