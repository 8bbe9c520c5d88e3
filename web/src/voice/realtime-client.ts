// The `/v1/realtime` socket for one knowledge base, speaking the protocol of docs/realtime.md, as a
// plain class: connect, reconnect with backoff, resume, and what each event means for the page.
// Nothing here needs a DOM, so the WebSocket constructor, the timers and the REST look-ups come in
// from outside (hooks/use-realtime.ts passes the browser's; the tests beside this file pass fakes).
//
// Same origin, so the console's session cookie authenticates the socket. A dropped socket is
// reopened with exponential backoff and `resume=<session id>`, so the conversation carries on. A
// socket that closes before its session began may have been refused, which a browser cannot tell
// apart: refusal.ts asks the REST API, and a signed-out session or a deleted knowledge base or
// conversation ends voice with that reason instead of retrying for a minute.

import type { Turn } from '../chat-model.ts';
import { backoffDelay, RECONNECT } from './backoff.ts';
import { base64ToBytes, bytesToBase64, pcm16FromBytes, pcm16ToBytes } from './pcm.ts';
import { realtimeUrl, sessionUpdate, truncateEvent } from './protocol.ts';
import { diagnoseRefusal, type RefusalLookups } from './refusal.ts';
import { initialVoiceState, takeFinished, voiceReducer, type ServerEvent, type VoiceAction, type VoiceMode, type VoiceState, type VoiceTurn } from './voice-model.ts';

/** The part of a browser WebSocket this client uses. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
}

export type SocketConstructor = new (url: string) => SocketLike;

export interface Clock {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RealtimeDeps {
  WebSocket: SocketConstructor;
  /** The page's origin, for the socket URL. */
  location: Pick<Location, 'protocol' | 'host'>;
  clock: Clock;
  /** What the upgrade checked, asked of the REST API, when a socket closes before its session began. */
  lookups: RefusalLookups;
  /** The backoff's jitter. */
  random?: () => number;
}

export interface RealtimeEvents {
  /** The conversation as the page shows it changed. */
  onState(state: VoiceState): void;
  /** 24 kHz pcm16 of the answer, for the speakers. */
  onAudio(itemId: string, pcm: Int16Array): void;
  /** The server heard the person start speaking: stop the answer's audio now (barge-in). */
  onSpeechStarted(): void;
  /** A turn is over (answered, stopped or failed), for the thread. */
  onTurn(turn: Turn, conversationId: string | null): void;
  /** The server kept only what was heard of a stored answer (after a barge-in). */
  onTruncated?(messageId: string, heard: string): void;
}

const OPEN = 1;

/** Past this much unsent audio the network is not keeping up: drop frames rather than fall further behind. */
const MAX_BUFFERED_BYTES = 512 * 1024;

export const IDLE_NOTICE = 'Voice ended after ten minutes without a word. Start it again to go on.';
/** The server's close code once the day's voice input is used up (CLOSE_QUOTA): reconnecting would only be refused again. */
export const CLOSE_QUOTA = 4029;
export const QUOTA_NOTICE = "You have used today's voice input. Voice works again after midnight (UTC); typed questions still work.";
export const GAVE_UP = 'The voice connection was lost and could not be restored. Check the network, then start voice again.';
export const REFUSED = 'The server is reachable but would not open a voice session: it may be busy (at its limit of voice sessions) or restarting. Start voice again in a minute.';

const asTurn = (t: VoiceTurn): Turn => ({ key: t.key, question: t.question || '(spoken question)', reply: t.reply });

/** One socket and what it was opened for. */
interface Link {
  ws: SocketLike;
  kbId: string;
  /** The conversation a new session was asked to continue (none when resuming). */
  continued: string | null;
  /** session.created arrived: the upgrade was accepted, so a close is a drop, not a refusal. */
  accepted: boolean;
}

function parse(data: unknown): ServerEvent | null {
  if (typeof data !== 'string') return null;
  try {
    return JSON.parse(data) as ServerEvent;
  } catch {
    return null;
  }
}

/** A close that ends voice rather than being retried. */
function finalClose(e: CloseEvent): VoiceAction | null {
  if (e.code === 1000 && e.reason === 'idle timeout') return { type: 'stop', notice: IDLE_NOTICE };
  if (e.code === CLOSE_QUOTA) return { type: 'failed', code: 'rate_limited', message: QUOTA_NOTICE };
  return null;
}

export class RealtimeClient {
  /** The knowledge base the next socket opens on. */
  kbId: string;
  /** The conversation on the page, read when a socket opens: one the session itself starts does not reconnect it. */
  conversationId: string | null = null;
  #deps: RealtimeDeps;
  #events: RealtimeEvents;
  #mode: VoiceMode = 'hands-free';
  #state: VoiceState = initialVoiceState;
  #link: Link | null = null;
  /** A session.created arrived on the current socket: events may be sent. */
  #ready = false;
  /** Voice is on: a dropped socket is reopened. */
  #wanted = false;
  #attempts = 0;
  /** The last refused socket's look-ups all succeeded: giving up then is the server's doing, not the network's. */
  #serverAnswered = false;
  /** Bumped whenever the socket is given up on, so a look-up still in flight knows it is stale. */
  #generation = 0;
  #timer: unknown = undefined;
  /** The answer audio last received, and responses whose audio was interrupted and must not play. */
  #lastAudio: { itemId: string; responseId: string } | null = null;
  #interrupted = new Set<string>();
  #disposed = false;

  constructor(kbId: string, deps: RealtimeDeps, events: RealtimeEvents) {
    this.kbId = kbId;
    this.#deps = deps;
    this.#events = events;
  }

  get state(): VoiceState {
    return this.#state;
  }

  get mode(): VoiceMode {
    return this.#mode;
  }

  /** Push-to-talk and hands-free differ only in who ends a turn: a live session is told. */
  set mode(mode: VoiceMode) {
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#send(sessionUpdate(mode));
  }

  /** Opens a new session (the person pressed Start). */
  start(): void {
    this.#close();
    this.#wanted = true;
    this.#attempts = 0;
    this.#serverAnswered = false;
    this.#interrupted.clear();
    this.#lastAudio = null;
    this.#dispatch({ type: 'connect' });
    this.#connect(false);
  }

  stop(notice?: string): void {
    this.#end(notice ? { type: 'stop', notice } : { type: 'stop' });
  }

  /** Ends voice with a problem the person has to solve (the microphone was refused…). */
  fail(code: string, message: string): void {
    this.#end({ type: 'failed', code, message });
  }

  /** Sends 100 ms of 24 kHz pcm16; false when there is no session to send it to, or the network is behind. */
  sendAudio(pcm: Int16Array): boolean {
    if ((this.#link?.ws.bufferedAmount ?? 0) > MAX_BUFFERED_BYTES) return false;
    return this.#send({ type: 'input_audio_buffer.append', audio: bytesToBase64(pcm16ToBytes(pcm)) });
  }

  commit(): void {
    this.#send({ type: 'input_audio_buffer.commit' });
  }

  clear(): void {
    this.#send({ type: 'input_audio_buffer.clear' });
  }

  cancel(): void {
    this.#send({ type: 'response.cancel' });
  }

  /** Tells the server how much of the assistant item `itemId` was heard. */
  truncate(itemId: string, audioEndMs: number): void {
    this.#send(truncateEvent(itemId, audioEndMs));
  }

  /** Push-to-talk pressed or released. */
  hold(held: boolean): void {
    this.#dispatch({ type: 'hold', held });
  }

  notice(text: string | null): void {
    this.#dispatch({ type: 'notice', notice: text });
  }

  /** Whatever of the current answers is still on its way was talked over: it must not play. */
  silence(): void {
    if (this.#lastAudio) this.#interrupted.add(this.#lastAudio.responseId);
    for (const t of this.#state.turns) if (t.responseId && t.reply?.status === 'streaming') this.#interrupted.add(t.responseId);
  }

  /** The page is gone: the socket closes and nothing more is reported. */
  dispose(): void {
    this.#disposed = true;
    this.#wanted = false;
    this.#close();
  }

  #dispatch(action: VoiceAction): void {
    const { finished, state } = takeFinished(voiceReducer(this.#state, action));
    if (state === this.#state) return;
    this.#state = state;
    if (!this.#disposed) this.#events.onState(state);
    for (const turn of finished) this.#events.onTurn(asTurn(turn), state.conversationId);
  }

  /** Voice is over, by the person's choice or with a reason: no more retries. */
  #end(action: VoiceAction): void {
    this.#wanted = false;
    this.#close();
    this.#dispatch(action);
  }

  #send(event: Record<string, unknown>): boolean {
    const ws = this.#link?.ws;
    if (!ws || ws.readyState !== OPEN || !this.#ready) return false;
    ws.send(JSON.stringify(event));
    return true;
  }

  #close(): void {
    this.#generation++;
    this.#deps.clock.clearTimeout(this.#timer);
    const ws = this.#link?.ws;
    this.#link = null;
    this.#ready = false;
    if (ws && ws.readyState <= OPEN) ws.close(1000, 'voice stopped');
  }

  #connect(resume: boolean): void {
    const resumeId = resume ? this.#state.sessionId : null;
    // A resumed session keeps its own conversation; only a new one names the page's.
    const continued = resumeId ? null : this.conversationId;
    const ws = new this.#deps.WebSocket(realtimeUrl(this.kbId, resumeId, this.#deps.location, continued));
    const link: Link = { ws, kbId: this.kbId, continued, accepted: false };
    this.#link = link;
    this.#ready = false;
    ws.onmessage = (e) => {
      if (this.#link !== link) return;
      const event = parse(e.data);
      if (event) this.#receive(link, event);
    };
    ws.onclose = (e) => this.#closed(link, e);
  }

  #receive(link: Link, event: ServerEvent): void {
    // Audio is for the speakers only: it changes nothing on screen.
    if (event.type === 'response.output_audio.delta') return this.#audio(event);
    if (event.type === 'session.created') this.#opened(link);
    else if (event.type === 'input_audio_buffer.speech_started') this.#bargeIn();
    else if (event.type === 'conversation.item.truncated') this.#truncated(event);
    this.#dispatch({ type: 'server', event });
  }

  #audio(event: ServerEvent): void {
    const responseId = String(event['response_id'] ?? '');
    const itemId = String(event['item_id'] ?? '');
    const delta = event['delta'];
    if (this.#interrupted.has(responseId) || typeof delta !== 'string') return;
    this.#lastAudio = { itemId, responseId };
    this.#events.onAudio(itemId, pcm16FromBytes(base64ToBytes(delta)));
  }

  #opened(link: Link): void {
    this.#ready = true;
    link.accepted = true;
    this.#attempts = 0;
    this.#send(sessionUpdate(this.#mode));
  }

  #bargeIn(): void {
    this.silence();
    this.#events.onSpeechStarted();
  }

  #truncated(event: ServerEvent): void {
    const messageId = event['lectern_message_id'];
    const heard = event['lectern_text'];
    if (typeof messageId === 'string' && typeof heard === 'string') this.#events.onTruncated?.(messageId, heard);
  }

  #closed(link: Link, e: CloseEvent): void {
    if (this.#link !== link) return;
    this.#link = null;
    this.#ready = false;
    if (!this.#wanted) return;
    const final = finalClose(e);
    if (final) {
      this.#wanted = false;
      this.#dispatch(final);
      return;
    }
    this.#dispatch({ type: 'dropped' });
    if (link.accepted) {
      this.#serverAnswered = false;
      this.#schedule();
    } else void this.#diagnose(link);
  }

  /** Refused, or never reached: the browser will not say which, or why. The REST API can. */
  async #diagnose(link: Link): Promise<void> {
    const mine = this.#generation;
    const refusal = await diagnoseRefusal(link.kbId, link.continued, this.#deps.lookups);
    if (this.#generation !== mine || !this.#wanted) return;
    if (!refusal.retry) {
      this.#wanted = false;
      this.#dispatch({ type: 'failed', code: refusal.code, message: refusal.message });
      return;
    }
    this.#serverAnswered = refusal.serverAnswered;
    this.#schedule();
  }

  #schedule(): void {
    const delay = backoffDelay(this.#attempts++, RECONNECT, this.#deps.random);
    if (delay === null) {
      this.#wanted = false;
      this.#dispatch({ type: 'failed', code: 'realtime_unreachable', message: this.#serverAnswered ? REFUSED : GAVE_UP });
      return;
    }
    this.#timer = this.#deps.clock.setTimeout(() => {
      if (this.#wanted) this.#connect(true);
    }, delay);
  }
}
