import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { Turn } from '../chat-model.ts';
import { backoffDelay } from '../voice/backoff.ts';
import { base64ToBytes, bytesToBase64, pcm16FromBytes, pcm16ToBytes } from '../voice/pcm.ts';
import { realtimeUrl, sessionUpdate, truncateEvent } from '../voice/protocol.ts';
import { diagnoseRefusal, type RefusalLookups } from '../voice/refusal.ts';
import { initialVoiceState, takeFinished, voiceReducer, type ServerEvent, type VoiceAction, type VoiceMode, type VoiceState, type VoiceTurn } from '../voice/voice-model.ts';

export interface RealtimeHandlers {
  /** 24 kHz pcm16 of the answer, for the speakers. */
  onAudio(itemId: string, pcm: Int16Array): void;
  /** The server heard the person start speaking: stop the answer's audio now (barge-in). */
  onSpeechStarted(): void;
  /** A turn is over (answered, stopped or failed), for the thread. */
  onTurn(turn: Turn, conversationId: string | null): void;
  /** The server kept only what was heard of a stored answer (after a barge-in). */
  onTruncated?(messageId: string, heard: string): void;
}

export interface Realtime {
  state: VoiceState;
  /** Opens a new session (the person pressed Start). */
  start(): void;
  stop(notice?: string): void;
  /** Ends voice with a problem the person has to solve (the microphone was refused…). */
  fail(code: string, message: string): void;
  /** Sends 100 ms of 24 kHz pcm16; false when there is no session to send it to. */
  sendAudio(pcm: Int16Array): boolean;
  commit(): void;
  clear(): void;
  cancel(): void;
  /** Tells the server how much of the assistant item `itemId` was heard. */
  truncate(itemId: string, audioEndMs: number): void;
  hold(held: boolean): void;
  /** Audio still arriving for the answers in progress is dropped (the person interrupted them by hand). */
  silence(): void;
  notice(text: string | null): void;
}

/** Past this much unsent audio the network is not keeping up: drop frames rather than fall further behind. */
const MAX_BUFFERED_BYTES = 512 * 1024;

const IDLE_NOTICE = 'Voice ended after ten minutes without a word. Start it again to go on.';
/** The server's close code once the day's voice input is used up (CLOSE_QUOTA): reconnecting would only be refused again. */
const CLOSE_QUOTA = 4029;
const QUOTA_NOTICE = "You have used today's voice input. Voice works again after midnight (UTC); typed questions still work.";
const GAVE_UP = 'The voice connection was lost and could not be restored. Check the network, then start voice again.';
const REFUSED = 'The server is reachable but would not open a voice session: it may be busy (at its limit of voice sessions) or restarting. Start voice again in a minute.';

/** What the upgrade checked, asked of the REST API: its 401 reaches the console's session handling, which signs the person out. */
const lookups: RefusalLookups = { kb: (id) => api.getKb(id), conversation: (id) => api.getConversation(id) };

const asTurn = (t: VoiceTurn): Turn => ({ key: t.key, question: t.question || '(spoken question)', reply: t.reply });

/**
 * The `/v1/realtime` socket for one knowledge base, speaking the protocol of docs/realtime.md.
 * Same origin, so the console's session cookie authenticates it. A dropped socket is reopened
 * with exponential backoff and `resume=<session id>`, so the conversation carries on. A socket
 * that closes before its session began may have been refused, which a browser cannot tell apart:
 * voice/refusal.ts asks the REST API, and a signed-out session or a deleted knowledge base or
 * conversation ends voice with that reason instead of retrying for a minute.
 */
export function useRealtime(kbId: string, mode: VoiceMode, handlers: RealtimeHandlers, conversationId: string | null = null): Realtime {
  const [state, setState] = useState<VoiceState>(initialVoiceState);
  const model = useRef<VoiceState>(initialVoiceState);
  const on = useRef(handlers);
  on.current = handlers;
  const modeRef = useRef(mode);
  modeRef.current = mode;
  // Read when a socket opens, so a conversation the session itself starts does not reconnect it.
  const conversationRef = useRef(conversationId);
  conversationRef.current = conversationId;
  const socket = useRef<WebSocket | null>(null);
  /** A session.created arrived on the current socket: events may be sent. */
  const ready = useRef(false);
  const wanted = useRef(false);
  const attempts = useRef(0);
  /** The last refused socket's look-ups all succeeded: giving up then is the server's doing, not the network's. */
  const serverAnswered = useRef(false);
  /** Bumped whenever the socket is given up on, so a look-up still in flight knows it is stale. */
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  /** The answer audio last received, and responses whose audio was interrupted and must not play. */
  const lastAudio = useRef<{ itemId: string; responseId: string } | null>(null);
  const interrupted = useRef(new Set<string>());
  const mounted = useRef(true);

  const dispatch = useCallback((action: VoiceAction) => {
    const { finished, state: next } = takeFinished(voiceReducer(model.current, action));
    if (next === model.current) return;
    model.current = next;
    if (mounted.current) setState(next);
    for (const turn of finished) on.current.onTurn(asTurn(turn), next.conversationId);
  }, []);

  /** Whatever of the current answers is still on its way was talked over: it must not play. */
  const silence = useCallback(() => {
    if (lastAudio.current) interrupted.current.add(lastAudio.current.responseId);
    for (const t of model.current.turns) if (t.responseId && t.reply?.status === 'streaming') interrupted.current.add(t.responseId);
  }, []);

  const send = useCallback((event: Record<string, unknown>): boolean => {
    const ws = socket.current;
    if (!ws || ws.readyState !== WebSocket.OPEN || !ready.current) return false;
    ws.send(JSON.stringify(event));
    return true;
  }, []);

  const close = useCallback(() => {
    generation.current++;
    clearTimeout(timer.current);
    const ws = socket.current;
    socket.current = null;
    ready.current = false;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'voice stopped');
  }, []);

  const connect = useCallback(
    (resume: boolean) => {
      const resumeId = resume ? model.current.sessionId : null;
      // A resumed session keeps its own conversation; only a new one names the page's.
      const continued = resumeId ? null : conversationRef.current;
      const ws = new WebSocket(realtimeUrl(kbId, resumeId, location, continued));
      socket.current = ws;
      ready.current = false;
      /** session.created arrived: the upgrade was accepted, so a close is a drop, not a refusal. */
      let accepted = false;

      const schedule = () => {
        const delay = backoffDelay(attempts.current++);
        if (delay === null) {
          wanted.current = false;
          dispatch({ type: 'failed', code: 'realtime_unreachable', message: serverAnswered.current ? REFUSED : GAVE_UP });
          return;
        }
        timer.current = setTimeout(() => wanted.current && connect(true), delay);
      };

      const retry = () => {
        dispatch({ type: 'dropped' });
        if (accepted) {
          serverAnswered.current = false;
          schedule();
          return;
        }
        // Refused, or never reached: the browser will not say which, or why. The REST API can.
        const mine = generation.current;
        void diagnoseRefusal(kbId, continued, lookups).then((refusal) => {
          if (generation.current !== mine || !wanted.current) return;
          if (!refusal.retry) {
            wanted.current = false;
            dispatch({ type: 'failed', code: refusal.code, message: refusal.message });
            return;
          }
          serverAnswered.current = refusal.serverAnswered;
          schedule();
        });
      };

      ws.onmessage = (e: MessageEvent) => {
        if (socket.current !== ws || typeof e.data !== 'string') return;
        let event: ServerEvent;
        try {
          event = JSON.parse(e.data) as ServerEvent;
        } catch {
          return;
        }
        if (event.type === 'response.output_audio.delta') {
          const responseId = String(event['response_id'] ?? '');
          const itemId = String(event['item_id'] ?? '');
          if (interrupted.current.has(responseId) || typeof event['delta'] !== 'string') return;
          lastAudio.current = { itemId, responseId };
          on.current.onAudio(itemId, pcm16FromBytes(base64ToBytes(event['delta'])));
          return;
        }
        if (event.type === 'session.created') {
          ready.current = true;
          accepted = true;
          attempts.current = 0;
          send(sessionUpdate(modeRef.current));
        } else if (event.type === 'input_audio_buffer.speech_started') {
          silence();
          on.current.onSpeechStarted();
        } else if (event.type === 'conversation.item.truncated' && typeof event['lectern_message_id'] === 'string' && typeof event['lectern_text'] === 'string') {
          on.current.onTruncated?.(event['lectern_message_id'], event['lectern_text']);
        }
        dispatch({ type: 'server', event });
      };
      ws.onclose = (e: CloseEvent) => {
        if (socket.current !== ws) return;
        socket.current = null;
        ready.current = false;
        if (!wanted.current) return;
        if (e.code === 1000 && e.reason === 'idle timeout') {
          wanted.current = false;
          dispatch({ type: 'stop', notice: IDLE_NOTICE });
          return;
        }
        if (e.code === CLOSE_QUOTA) {
          wanted.current = false;
          dispatch({ type: 'failed', code: 'rate_limited', message: QUOTA_NOTICE });
          return;
        }
        retry();
      };
    },
    [kbId, dispatch, send, silence],
  );

  const start = useCallback(() => {
    close();
    wanted.current = true;
    attempts.current = 0;
    serverAnswered.current = false;
    interrupted.current.clear();
    lastAudio.current = null;
    dispatch({ type: 'connect' });
    connect(false);
  }, [close, connect, dispatch]);

  const stop = useCallback(
    (notice?: string) => {
      wanted.current = false;
      close();
      dispatch(notice ? { type: 'stop', notice } : { type: 'stop' });
    },
    [close, dispatch],
  );

  const fail = useCallback(
    (code: string, message: string) => {
      wanted.current = false;
      close();
      dispatch({ type: 'failed', code, message });
    },
    [close, dispatch],
  );

  // Push-to-talk and hands-free differ only in who ends a turn: tell the live session.
  useEffect(() => {
    send(sessionUpdate(mode));
  }, [mode, send]);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      wanted.current = false;
      close();
    };
  }, [close]);

  const sendAudio = useCallback(
    (pcm: Int16Array) => {
      if ((socket.current?.bufferedAmount ?? 0) > MAX_BUFFERED_BYTES) return false;
      return send({ type: 'input_audio_buffer.append', audio: bytesToBase64(pcm16ToBytes(pcm)) });
    },
    [send],
  );

  return {
    state,
    start,
    stop,
    fail,
    sendAudio,
    commit: useCallback(() => void send({ type: 'input_audio_buffer.commit' }), [send]),
    clear: useCallback(() => void send({ type: 'input_audio_buffer.clear' }), [send]),
    cancel: useCallback(() => void send({ type: 'response.cancel' }), [send]),
    truncate: useCallback((itemId: string, audioEndMs: number) => void send(truncateEvent(itemId, audioEndMs)), [send]),
    hold: useCallback((held: boolean) => dispatch({ type: 'hold', held }), [dispatch]),
    silence,
    notice: useCallback((text: string | null) => dispatch({ type: 'notice', notice: text }), [dispatch]),
  };
}
