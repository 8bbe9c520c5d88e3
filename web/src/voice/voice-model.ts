// The voice conversation as data: what the realtime socket's events (and the few things the page
// does itself) mean for what is on screen. Pure, like chat-model.ts, so the rules are testable
// and the hook only moves bytes.
//
// A voice turn is born when the server commits an utterance (or answers one), gets its words from
// the transcription events and its reply from the response events, and is handed to the chat
// thread once its response is done. Several can be alive at once: speaking over an answer starts
// the next turn before the interrupted one's `response.done (cancelled)` arrives.

import { ApiError, type Citation } from '../api.ts';
import { applyAskEvent, endReply, streamingReply, type Reply, type Turn } from '../chat-model.ts';
import { metricsFromRealtime } from './timings.ts';

export type VoiceMode = 'hands-free' | 'push-to-talk';

export type Connection = 'off' | 'connecting' | 'open' | 'reconnecting' | 'failed';

export interface VoiceTurn extends Turn {
  /** The user's audio item; null for a response the console did not see the question of. */
  itemId: string | null;
  /** The transcript is final (transcription.completed). */
  heard: boolean;
  responseId: string | null;
  done: boolean;
}

export interface VoiceProblem {
  code: string;
  message: string;
  /** Voice cannot go on without the person doing something (start again, allow the microphone). */
  fatal: boolean;
}

export interface VoiceState {
  connection: Connection;
  /** The server's session id, kept across reconnects to resume the same session. */
  sessionId: string | null;
  conversationId: string | null;
  /** The voice the session speaks with (session.created), for the answers' details. */
  voice: string | null;
  /** Between speech_started and speech_stopped, or while push-to-talk is held. */
  userSpeaking: boolean;
  /** The words of the utterance in progress, or of the last one once final. */
  transcript: { itemId: string; text: string; final: boolean } | null;
  /** Turns not yet handed to the thread, oldest first. */
  turns: VoiceTurn[];
  error: VoiceProblem | null;
  /** Something worth saying that is not an error (the session could not be resumed…). */
  notice: string | null;
}

/** A server event as it arrives: a `type` and whatever the protocol puts beside it. */
export type ServerEvent = { type: string } & Record<string, unknown>;

export type VoiceAction =
  | { type: 'connect' }
  /** The socket dropped; the hook is about to retry. */
  | { type: 'dropped' }
  /** Voice cannot continue (retries used up, microphone refused…). */
  | { type: 'failed'; code: string; message: string }
  /** The person turned voice off, or the server ended the session. */
  | { type: 'stop'; notice?: string }
  /** Push-to-talk pressed or released. */
  | { type: 'hold'; held: boolean }
  | { type: 'notice'; notice: string | null }
  | { type: 'server'; event: ServerEvent };

export const initialVoiceState: VoiceState = {
  connection: 'off',
  sessionId: null,
  conversationId: null,
  voice: null,
  userSpeaking: false,
  transcript: null,
  turns: [],
  error: null,
  notice: null,
};

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});

/** Errors that say nothing the person needs to know. */
function ignorable(code: string, message: string): boolean {
  // A cancel racing the end of the answer, and truncation on a server that predates it.
  return code === 'response_cancel_not_active' || (code === 'unknown_event' && message.includes('conversation.item.truncate'));
}

const RESUME_FAILED = 'The earlier voice session had ended, so this is a new one: the next answer starts a new conversation.';

const withTurn = (turns: VoiceTurn[], match: (t: VoiceTurn) => boolean, change: (t: VoiceTurn) => VoiceTurn): VoiceTurn[] =>
  turns.map((t) => (match(t) ? change(t) : t));

/** Ends every live turn: answers stop where they were (cancelled, or failed when the link broke), unanswered questions are kept without a reply. */
function endTurns(turns: VoiceTurn[], stopped: boolean): VoiceTurn[] {
  return turns.flatMap((t) => {
    if (t.done) return [t];
    if (t.reply) return [{ ...t, done: true, reply: endReply(t.reply, stopped, null) }];
    // Words that were never answered are worth keeping only if there are words.
    return t.question ? [{ ...t, done: true }] : [];
  });
}

function onServer(state: VoiceState, event: ServerEvent): VoiceState {
  switch (event.type) {
    case 'session.created': {
      const session = record(event['session']);
      const id = str(session['id']);
      // Asked to resume but given another session: the old conversation cannot continue.
      const lost = state.sessionId !== null && id !== state.sessionId;
      return {
        ...state,
        connection: 'open',
        sessionId: id,
        voice: str(record(record(session['audio'])['output'])['voice']) ?? state.voice,
        conversationId: lost ? null : state.conversationId,
        notice: lost ? RESUME_FAILED : state.notice,
        turns: lost ? endTurns(state.turns, false) : state.turns,
      };
    }
    case 'lectern.session.resumed':
      return { ...state, conversationId: str(event['conversation_id']) ?? state.conversationId, notice: null };
    case 'input_audio_buffer.speech_started': {
      const itemId = str(event['item_id']) ?? '';
      // The person speaking again is the answer to any error shown: it has been read.
      return { ...state, userSpeaking: true, transcript: { itemId, text: '', final: false }, error: state.error?.fatal ? state.error : null };
    }
    // The server commits every utterance it stops hearing: the turn starts here, so the state line
    // goes from "speaking" straight to "thinking" (the committed event follows as a separate message).
    case 'input_audio_buffer.speech_stopped':
    case 'input_audio_buffer.committed': {
      const itemId = str(event['item_id']) ?? '';
      if (state.turns.some((t) => t.itemId === itemId)) return state.userSpeaking ? { ...state, userSpeaking: false } : state;
      const words = state.transcript?.itemId === itemId ? state.transcript.text : '';
      const turn: VoiceTurn = { key: itemId, itemId, question: words, heard: false, responseId: null, reply: null, done: false };
      return { ...state, userSpeaking: false, turns: [...state.turns, turn] };
    }
    case 'conversation.item.input_audio_transcription.delta': {
      const itemId = str(event['item_id']) ?? '';
      const delta = str(event['delta']) ?? '';
      const text = (state.transcript?.itemId === itemId && !state.transcript.final ? state.transcript.text : '') + delta;
      return {
        ...state,
        transcript: { itemId, text, final: false },
        turns: withTurn(state.turns, (t) => t.itemId === itemId && !t.heard, (t) => ({ ...t, question: text })),
      };
    }
    case 'conversation.item.input_audio_transcription.completed': {
      const itemId = str(event['item_id']) ?? '';
      const text = (str(event['transcript']) ?? '').trim();
      const transcript = { itemId, text, final: true };
      // Nothing was heard: the server answers nothing, so there is no turn to show.
      if (!text) return { ...state, transcript, turns: state.turns.filter((t) => t.itemId !== itemId || t.responseId !== null) };
      const known = state.turns.some((t) => t.itemId === itemId);
      const turns = known
        ? withTurn(state.turns, (t) => t.itemId === itemId, (t) => ({ ...t, question: text, heard: true }))
        : [...state.turns, { key: itemId, itemId, question: text, heard: true, responseId: null, reply: null, done: false }];
      return { ...state, transcript, turns };
    }
    case 'response.created': {
      const id = str(record(event['response'])['id']) ?? '';
      if (state.turns.some((t) => t.responseId === id)) return state;
      const waiting = state.turns.find((t) => !t.done && t.responseId === null && t.heard);
      const turns = waiting
        ? withTurn(state.turns, (t) => t === waiting, (t) => ({ ...t, responseId: id, reply: streamingReply() }))
        : [...state.turns, { key: id, itemId: null, question: '', heard: true, responseId: id, reply: streamingReply(), done: false }];
      return { ...state, turns, error: state.error?.fatal ? state.error : null };
    }
    case 'response.output_text.delta':
      return reply(state, event['response_id'], (r) => applyAskEvent(r, 'delta', { text: str(event['delta']) ?? '' }));
    case 'response.output_text.done': {
      // The whole text is authoritative, as `done` is for typed questions.
      const text = str(event['text']);
      return text === null ? state : reply(state, event['response_id'], (r) => ({ ...r, text }));
    }
    case 'lectern.citation': {
      const citation = record(event['citation']) as unknown as Citation;
      return typeof citation.n === 'number' ? reply(state, event['response_id'], (r) => applyAskEvent(r, 'citation', { citation })) : state;
    }
    case 'response.done': {
      const response = record(event['response']);
      const id = str(response['id']);
      const metadata = record(response['metadata']);
      const conversationId = str(metadata['lectern_conversation_id']) ?? state.conversationId;
      const status = str(response['status']);
      // The stored answer (for feedback) and the turn's timings (for its details).
      const stored = { messageId: str(metadata['lectern_message_id']), voice: metricsFromRealtime(metadata['lectern_metrics'], state.voice) };
      const next = reply({ ...state, conversationId }, id, (r) => {
        if (status === 'completed') return { ...r, ...stored, status: 'complete' };
        if (status === 'cancelled') return { ...r, ...stored, status: 'cancelled' };
        const error = state.error ? new ApiError({ status: 0, code: state.error.code, message: state.error.message }) : null;
        return { ...endReply(r, false, error ?? new ApiError({ status: 0, code: 'response_failed', message: 'The answer failed.' })), ...stored };
      });
      return { ...next, turns: withTurn(next.turns, (t) => t.responseId === id, (t) => ({ ...t, done: true })) };
    }
    case 'error': {
      const body = record(event['error']);
      const code = str(body['code']) ?? 'error';
      const message = str(body['message']) ?? 'Something went wrong.';
      if (ignorable(code, message)) return state;
      if (code === 'resume_unavailable') return { ...state, notice: RESUME_FAILED };
      // A turn still waiting for its words will not get them (stt_unavailable, a failed decode).
      const turns = state.turns.filter((t) => t.heard || t.responseId !== null);
      return { ...state, turns, error: { code, message, fatal: false } };
    }
    default:
      return state;
  }
}

function reply(state: VoiceState, responseId: unknown, change: (r: Reply) => Reply): VoiceState {
  const id = str(responseId);
  if (id === null || !state.turns.some((t) => t.responseId === id && t.reply)) return state;
  return { ...state, turns: withTurn(state.turns, (t) => t.responseId === id, (t) => (t.reply ? { ...t, reply: change(t.reply) } : t)) };
}

export function voiceReducer(state: VoiceState, action: VoiceAction): VoiceState {
  switch (action.type) {
    case 'connect':
      // A fresh start: nothing to resume. The conversation on screen stays until a new one is made.
      return { ...initialVoiceState, conversationId: state.conversationId, connection: 'connecting' };
    case 'dropped':
      // Until a session exists there is nothing to come back to: still connecting.
      return { ...state, connection: state.sessionId ? 'reconnecting' : 'connecting', userSpeaking: false, turns: endTurns(state.turns, false) };
    case 'failed':
      return { ...state, connection: 'failed', userSpeaking: false, error: { code: action.code, message: action.message, fatal: true }, turns: endTurns(state.turns, true) };
    case 'stop':
      return { ...initialVoiceState, conversationId: state.conversationId, notice: action.notice ?? null, error: state.error?.fatal ? state.error : null, turns: endTurns(state.turns, true) };
    case 'hold':
      return { ...state, userSpeaking: action.held, ...(action.held ? { transcript: null, notice: null, error: state.error?.fatal ? state.error : null } : {}) };
    case 'notice':
      return { ...state, notice: action.notice };
    case 'server':
      return onServer(state, action.event);
  }
}

/** Splits off the turns that are finished, for the thread; the rest stay live. */
export function takeFinished(state: VoiceState): { finished: VoiceTurn[]; state: VoiceState } {
  const finished = state.turns.filter((t) => t.done);
  return finished.length === 0 ? { finished, state } : { finished, state: { ...state, turns: state.turns.filter((t) => !t.done) } };
}

/** A response the console is waiting on or receiving: cancel and barge-in have something to stop. */
export const responding = (state: VoiceState): boolean => state.turns.some((t) => !t.done && t.reply?.status === 'streaming');

export type VoicePhase = 'off' | 'connecting' | 'listening' | 'user-speaking' | 'thinking' | 'speaking' | 'reconnecting' | 'error';

/** The one word for the state line. `playing` is whether answer audio is coming out of the speakers. */
export function voicePhase(state: VoiceState, playing: boolean): VoicePhase {
  if (state.error?.fatal || state.connection === 'failed') return 'error';
  if (state.connection === 'off') return 'off';
  if (state.connection === 'connecting') return 'connecting';
  if (state.connection === 'reconnecting') return 'reconnecting';
  if (state.userSpeaking) return 'user-speaking';
  if (playing) return 'speaking';
  if (state.error) return 'error';
  if (state.turns.some((t) => !t.done)) return 'thinking';
  return 'listening';
}

export function phaseText(phase: VoicePhase, state: VoiceState, mode: VoiceMode): string {
  switch (phase) {
    case 'off':
      return 'Voice is off.';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting':
      return 'Connection lost. Reconnecting…';
    case 'listening':
      return mode === 'hands-free' ? 'Listening…' : 'Ready. Hold the talk button while you speak.';
    case 'user-speaking':
      return 'You’re speaking…';
    case 'thinking':
      return 'Thinking…';
    case 'speaking':
      return mode === 'hands-free' ? 'Speaking… Talk to interrupt.' : 'Speaking… Hold the talk button to interrupt.';
    case 'error':
      return `Error: ${state.error?.message ?? 'voice stopped.'}`;
  }
}

/** A microphone failure in words a person can act on. */
export function microphoneProblem(err: unknown): { code: string; message: string } {
  const name = err instanceof Error || (err && typeof err === 'object' && 'name' in err) ? String((err as { name: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return { code: 'microphone_denied', message: 'Microphone access was refused. Allow it for this site in the browser’s settings, then start voice again.' };
    case 'NotFoundError':
      return { code: 'microphone_missing', message: 'No microphone was found. Connect one, then start voice again.' };
    case 'OverconstrainedError':
      return { code: 'microphone_unavailable', message: 'The chosen microphone is not available any more. Choose another one.' };
    case 'NotReadableError':
    case 'AbortError':
      return { code: 'microphone_busy', message: 'The microphone could not be opened: another application may be using it.' };
    default:
      return { code: 'microphone_failed', message: `The microphone could not be started: ${err instanceof Error ? err.message : String(err)}` };
  }
}
