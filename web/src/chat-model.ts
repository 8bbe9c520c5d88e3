// The chat thread as data: turns of a question and its reply, built from stored messages or from
// the events of a streamed answer. Pure, so the page only renders and the rules are testable.
import { ApiError, type Answer, type AnswerEngine, type AnswerIncomplete, type AnswerMode, type AnswerUsage, type AskSearch, type Citation, type Feedback, type Message, type VoiceMetrics } from './api.ts';

export type ReplyStatus = 'streaming' | 'complete' | 'cancelled' | 'failed';

export interface Reply {
  /** Known once the answer is stored (the `done` event, or a loaded conversation). */
  messageId: string | null;
  text: string;
  status: ReplyStatus;
  mode: AnswerMode | null;
  incomplete: AnswerIncomplete;
  citations: Citation[];
  /** The documents do not answer the question; `related` holds the closest passages (not an answer). */
  notCovered: boolean;
  related: Citation[];
  engine: AnswerEngine | null;
  usage: AnswerUsage | null;
  /** The knowledge-base searches the answer ran. */
  searches: Array<Omit<AskSearch, 'k'>>;
  feedback: Feedback | null;
  sentToCloud: boolean;
  error: ApiError | null;
  /** A spoken answer's timings (the realtime socket's `lectern_metrics`, or the stored message's `voice`). */
  voice: VoiceMetrics | null;
}

export interface Turn {
  key: string;
  question: string;
  /** Null when the question was stored without an answer (the server gave up before replying). */
  reply: Reply | null;
}

export const streamingReply = (): Reply => ({
  messageId: null,
  text: '',
  status: 'streaming',
  mode: null,
  incomplete: null,
  citations: [],
  notCovered: false,
  related: [],
  engine: null,
  usage: null,
  searches: [],
  feedback: null,
  sentToCloud: false,
  error: null,
  voice: null,
});

const byNumber = (citations: readonly Citation[]) => citations.toSorted((a, b) => a.n - b.n);

/** A stream event applied to the reply being streamed. Unknown events are ignored so the server may add some. */
export function applyAskEvent(reply: Reply, event: string, data: unknown): Reply {
  switch (event) {
    case 'search':
      return { ...reply, searches: [...reply.searches, data as AskSearch] };
    case 'delta':
      return { ...reply, text: reply.text + String((data as { text?: unknown }).text ?? '') };
    case 'citation': {
      const { citation } = data as { citation: Citation };
      return { ...reply, citations: byNumber([...reply.citations.filter((c) => c.n !== citation.n), citation]) };
    }
    case 'done': {
      const answer = data as Answer;
      const { messageId, mode, engine, usage } = answer;
      // The final text is authoritative: extractive answers may arrive whole, without deltas.
      return { ...reply, messageId, mode, engine, usage, incomplete: answer.incomplete ?? null, text: answer.answer, citations: byNumber(answer.citations), notCovered: answer.notCovered, related: answer.related, status: 'complete', sentToCloud: engine.kind === 'cloud' };
    }
    case 'error': {
      const body = (data as { error?: { code?: string; message?: string; traceId?: string } }).error ?? {};
      const error = new ApiError({ status: 200, code: body.code ?? 'ask_failed', message: body.message ?? 'The answer failed.', traceId: body.traceId ?? null });
      return { ...reply, status: 'failed', error };
    }
    default:
      return reply;
  }
}

/** How a reply that did not reach `done` ended: stopped by the person, or failed. */
export function endReply(reply: Reply, stopped: boolean, error: ApiError | null): Reply {
  if (reply.status !== 'streaming') return reply;
  if (stopped) return { ...reply, status: 'cancelled' };
  return { ...reply, status: 'failed', error: error ?? new ApiError({ status: 0, code: 'stream_ended', message: 'The connection ended before the answer was complete.' }) };
}

function storedReply(m: Message): Reply {
  return {
    messageId: m.id,
    text: m.content,
    status: m.status,
    mode: m.mode,
    incomplete: m.incomplete ?? null,
    citations: byNumber(m.citations),
    notCovered: m.notCovered ?? false,
    related: m.related ?? [],
    engine: m.engine,
    usage: m.usage,
    searches: m.searches ?? [],
    feedback: m.feedback,
    sentToCloud: m.sentToCloud,
    error: m.status === 'failed' ? new ApiError({ status: 0, code: 'failed', message: 'This answer failed.' }) : null,
    voice: m.voice ?? null,
  };
}

/** Stored messages (oldest first) as turns: each question with the assistant message that follows it. */
export function turnsFromMessages(messages: readonly Message[]): Turn[] {
  const turns: Turn[] = [];
  for (const m of messages) {
    const last = turns.at(-1);
    if (m.role === 'user') turns.push({ key: m.id, question: m.content, reply: null });
    else if (last && !last.reply) last.reply = storedReply(m);
    // An assistant message without a question before it has nothing to answer; it is not shown.
  }
  return turns;
}

/** The same turns with one reply's feedback replaced. */
export function withFeedback(turns: readonly Turn[], message: Message): Turn[] {
  return turns.map((t) => (t.reply?.messageId === message.id ? { ...t, reply: { ...t.reply, feedback: message.feedback } } : t));
}

/** A spoken answer cut to what the listener heard: the text kept, and only the citations it still makes. */
export function withHeard(turns: readonly Turn[], messageId: string, heard: string): Turn[] {
  return turns.map((t) =>
    t.reply?.messageId === messageId ? { ...t, reply: { ...t.reply, text: heard, incomplete: 'truncated', citations: t.reply.citations.filter((c) => heard.includes(`[${c.n}]`)) } } : t,
  );
}

/** A spoken answer the listener talked over: the server keeps only what was heard and says so (`truncated`). */
export function interruptedByListener(reply: Reply): boolean {
  return reply.incomplete === 'truncated';
}

/** Why an answer on screen is shorter than it would have been, as a tag and a sentence; null when it is whole. */
export function cutShort(reply: Reply): { tag: string; text: string } | null {
  if (interruptedByListener(reply) && (reply.status === 'complete' || reply.status === 'cancelled')) return { tag: 'Interrupted', text: 'Kept what was heard; you spoke over the rest.' };
  if (reply.status === 'cancelled') return { tag: 'Stopped', text: reply.text ? 'The answer was stopped before it was complete.' : 'The answer was stopped before it began.' };
  if (reply.status === 'complete' && reply.incomplete === 'length') return { tag: 'Incomplete', text: 'The answer reached its length limit.' };
  if (reply.status === 'complete' && reply.incomplete) return { tag: 'Incomplete', text: 'The language model failed part-way; this is what it had written.' };
  return null;
}

/** What a screen reader hears once an answer has ended (never each token). */
export function announcement(reply: Reply): string {
  switch (reply.status) {
    case 'complete': {
      if (reply.notCovered) return `Your documents don't cover that${reply.related.length > 0 ? `; ${reply.related.length} related passage${reply.related.length === 1 ? '' : 's'} shown` : ''}.`;
      const n = reply.citations.length;
      const sources = n === 0 ? 'no sources' : `${n} source${n === 1 ? '' : 's'}`;
      return reply.mode === 'extractive' ? `No language model answered; here are the most relevant passages, ${sources}.` : `Answer ready, ${sources}.`;
    }
    case 'cancelled':
      return 'Answer stopped.';
    case 'failed':
      return `The answer failed: ${reply.error?.message ?? 'unknown error'}`;
    default:
      return '';
  }
}
