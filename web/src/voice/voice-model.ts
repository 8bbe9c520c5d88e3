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

type Handler = (state: VoiceState, event: ServerEvent) => VoiceState;

const itemOf = (event: ServerEvent): string => str(event['item_id']) ?? '';
/** An error shown stays only if voice cannot go on without it; anything else has been read by now. */
const keptError = (state: VoiceState): VoiceProblem | null => (state.error?.fatal ? state.error : null);
const newTurn = (itemId: string | null, fields: Partial<VoiceTurn>): VoiceTurn => ({ key: itemId ?? '', itemId, question: '', heard: false, responseId: null, reply: null, done: false, ...fields });

function sessionCreated(state: VoiceState, event: ServerEvent): VoiceState {
  const session = record(event['session']);
  const id = str(session['id']);
  const voice = str(record(record(session['audio'])['output'])['voice']) ?? state.voice;
  // Asked to resume but given another session: the old conversation cannot continue.
  const lost = state.sessionId !== null && id !== state.sessionId;
  if (!lost) return { ...state, connection: 'open', sessionId: id, voice };
  return { ...state, connection: 'open', sessionId: id, voice, conversationId: null, notice: RESUME_FAILED, turns: endTurns(state.turns, false) };
}

const sessionResumed: Handler = (state, event) => ({ ...state, conversationId: str(event['conversation_id']) ?? state.conversationId, notice: null });

// The person speaking again is the answer to any error shown: it has been read.
const speechStarted: Handler = (state, event) => ({ ...state, userSpeaking: true, transcript: { itemId: itemOf(event), text: '', final: false }, error: keptError(state) });

// The server commits every utterance it stops hearing: the turn starts here, so the state line
// goes from "speaking" straight to "thinking" (the committed event follows as a separate message).
function speechStopped(state: VoiceState, event: ServerEvent): VoiceState {
  const itemId = itemOf(event);
  if (state.turns.some((t) => t.itemId === itemId)) return state.userSpeaking ? { ...state, userSpeaking: false } : state;
  const words = state.transcript?.itemId === itemId ? state.transcript.text : '';
  return { ...state, userSpeaking: false, turns: [...state.turns, newTurn(itemId, { question: words })] };
}

function transcriptionDelta(state: VoiceState, event: ServerEvent): VoiceState {
  const itemId = itemOf(event);
  const before = state.transcript?.itemId === itemId && !state.transcript.final ? state.transcript.text : '';
  const text = before + (str(event['delta']) ?? '');
  return {
    ...state,
    transcript: { itemId, text, final: false },
    turns: withTurn(state.turns, (t) => t.itemId === itemId && !t.heard, (t) => ({ ...t, question: text })),
  };
}

function transcriptionCompleted(state: VoiceState, event: ServerEvent): VoiceState {
  const itemId = itemOf(event);
  const text = (str(event['transcript']) ?? '').trim();
  const transcript = { itemId, text, final: true };
  // Nothing was heard: the server answers nothing, so there is no turn to show.
  if (!text) return { ...state, transcript, turns: state.turns.filter((t) => t.itemId !== itemId || t.responseId !== null) };
  const known = state.turns.some((t) => t.itemId === itemId);
  const turns = known
    ? withTurn(state.turns, (t) => t.itemId === itemId, (t) => ({ ...t, question: text, heard: true }))
    : [...state.turns, newTurn(itemId, { question: text, heard: true })];
  return { ...state, transcript, turns };
}

function responseCreated(state: VoiceState, event: ServerEvent): VoiceState {
  const id = str(record(event['response'])['id']) ?? '';
  if (state.turns.some((t) => t.responseId === id)) return state;
  const waiting = state.turns.find((t) => !t.done && t.responseId === null && t.heard);
  const turns = waiting
    ? withTurn(state.turns, (t) => t === waiting, (t) => ({ ...t, responseId: id, reply: streamingReply() }))
    : [...state.turns, { ...newTurn(null, { heard: true, responseId: id, reply: streamingReply() }), key: id }];
  return { ...state, turns, error: keptError(state) };
}

const textDelta: Handler = (state, event) => reply(state, event['response_id'], (r) => applyAskEvent(r, 'delta', { text: str(event['delta']) ?? '' }));

// The whole text is authoritative, as `done` is for typed questions.
function textDone(state: VoiceState, event: ServerEvent): VoiceState {
  const text = str(event['text']);
  return text === null ? state : reply(state, event['response_id'], (r) => ({ ...r, text }));
}

function citation(state: VoiceState, event: ServerEvent): VoiceState {
  const cited = record(event['citation']) as unknown as Citation;
  return typeof cited.n === 'number' ? reply(state, event['response_id'], (r) => applyAskEvent(r, 'citation', { citation: cited })) : state;
}

/** How a finished response leaves its reply: the status the server gave, or failed with the error on screen. */
function finishedReply(r: Reply, status: string | null, error: VoiceProblem | null): Reply {
  if (status === 'completed') return { ...r, status: 'complete' };
  if (status === 'cancelled') return { ...r, status: 'cancelled' };
  return endReply(r, false, new ApiError({ status: 0, code: error?.code ?? 'response_failed', message: error?.message ?? 'The answer failed.' }));
}

function responseDone(state: VoiceState, event: ServerEvent): VoiceState {
  const response = record(event['response']);
  const id = str(response['id']);
  const metadata = record(response['metadata']);
  const conversationId = str(metadata['lectern_conversation_id']) ?? state.conversationId;
  const status = str(response['status']);
  // The stored answer (for feedback) and the turn's timings (for its details).
  const stored = { messageId: str(metadata['lectern_message_id']), voice: metricsFromRealtime(metadata['lectern_metrics'], state.voice) };
  const next = reply({ ...state, conversationId }, id, (r) => ({ ...finishedReply(r, status, state.error), ...stored }));
  return { ...next, turns: withTurn(next.turns, (t) => t.responseId === id, (t) => ({ ...t, done: true })) };
}

function serverError(state: VoiceState, event: ServerEvent): VoiceState {
  const body = record(event['error']);
  const code = str(body['code']) ?? 'error';
  const message = str(body['message']) ?? 'Something went wrong.';
  if (ignorable(code, message)) return state;
  if (code === 'resume_unavailable') return { ...state, notice: RESUME_FAILED };
  // A turn still waiting for its words will not get them (stt_unavailable, a failed decode).
  const turns = state.turns.filter((t) => t.heard || t.responseId !== null);
  return { ...state, turns, error: { code, message, fatal: false } };
}

/** What each server event does to the conversation; events not named here change nothing. */
const onServer: ReadonlyMap<string, Handler> = new Map([
  ['session.created', sessionCreated],
  ['lectern.session.resumed', sessionResumed],
  ['input_audio_buffer.speech_started', speechStarted],
  ['input_audio_buffer.speech_stopped', speechStopped],
  ['input_audio_buffer.committed', speechStopped],
  ['conversation.item.input_audio_transcription.delta', transcriptionDelta],
  ['conversation.item.input_audio_transcription.completed', transcriptionCompleted],
  ['response.created', responseCreated],
  ['response.output_text.delta', textDelta],
  ['response.output_text.done', textDone],
  ['lectern.citation', citation],
  ['response.done', responseDone],
  ['error', serverError],
]);

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
      return { ...initialVoiceState, conversationId: state.conversationId, notice: action.notice ?? null, error: keptError(state), turns: endTurns(state.turns, true) };
    case 'hold':
      return { ...state, userSpeaking: action.held, ...(action.held ? { transcript: null, notice: null, error: keptError(state) } : {}) };
    case 'notice':
      return { ...state, notice: action.notice };
    case 'server':
      return onServer.get(action.event.type)?.(state, action.event) ?? state;
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
