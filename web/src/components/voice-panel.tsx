import type { RefObject } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { Turn } from '../chat-model.ts';
import { useMicrophone } from '../hooks/use-microphone.ts';
import { usePlayback } from '../hooks/use-playback.ts';
import { useRealtime } from '../hooks/use-realtime.ts';
import { microphoneProblem, phaseText, responding, voicePhase, type VoiceMode } from '../voice/voice-model.ts';
import { Button } from './button.tsx';

export interface VoiceControl {
  /** Turns voice off, as the Stop button does. */
  stop(): void;
}

interface Props {
  kbId: string;
  /** The conversation open on the page: spoken questions continue it. */
  conversationId?: string | null;
  /** The turns being spoken and answered right now, for the thread. */
  onLive(turns: Turn[]): void;
  /** A turn has ended (answered, interrupted or failed). */
  onTurn(turn: Turn, conversationId: string | null): void;
  /** An answer already in the thread was cut to what was heard. */
  onTruncated?(messageId: string, heard: string): void;
  /** Filled with the panel's controls, so the page can stop voice when the conversation changes. */
  controlRef?: RefObject<VoiceControl | null>;
  /** Said under the controls while voice is off. */
  hint?: string;
}

const MODES: ReadonlyArray<{ value: VoiceMode; label: string }> = [
  { value: 'hands-free', label: 'Hands-free' },
  { value: 'push-to-talk', label: 'Push to talk' },
];

// Audio captured after the talk button is let go, so the last syllable is not cut off.
const RELEASE_TAIL_MS = 250;
// Two 100 ms frames: the server needs at least 100 ms to commit a turn.
const MIN_HELD_FRAMES = 2;

const MODE_KEY = 'lectern.voice.mode';
const DEVICE_KEY = 'lectern.voice.microphone';

function remembered(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private browsing or storage off: the choice lasts for this page only.
  }
}

function MicIcon() {
  return (
    <svg class="voice-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8" />
    </svg>
  );
}

function Meter({ level }: { level: number }) {
  const percent = Math.round(level * 100);
  return (
    <div class="voice-meter" role="meter" aria-label="Microphone level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
      <span class="voice-meter-fill" style={{ width: `${percent}%` }} />
    </div>
  );
}

/**
 * Voice for the chat: the microphone streams to /v1/realtime, the answer streams back as text
 * (into the thread) and as speech (through the playback worklet). Hands-free lets the server
 * find the turns and lets the person talk over an answer to stop it; push-to-talk sends audio
 * only while the button is held.
 */
export function VoicePanel({ kbId, conversationId = null, onLive, onTurn, onTruncated, controlRef, hint }: Props) {
  const id = useId();
  const [mode, setMode] = useState<VoiceMode>(() => (remembered(MODE_KEY) === 'push-to-talk' ? 'push-to-talk' : 'hands-free'));
  const [deviceId, setDeviceId] = useState(() => remembered(DEVICE_KEY) ?? '');
  const [held, setHeld] = useState(false);
  const holding = useRef(false);
  const context = useRef<AudioContext | null>(null);
  const modeRef = useRef(mode);
  modeRef.current = mode;
  /** Push-to-talk: audio goes to the server (held, or in the tail after release). */
  const sending = useRef(false);
  const heldFrames = useRef(0);
  const tail = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const playback = usePlayback();
  // Barge-in: silence the answer at once, then tell the server how much of it was heard.
  const interrupt = () =>
    void playback.flush().then((flushed) => {
      if (flushed.cut && flushed.itemId) rt.truncate(flushed.itemId, flushed.playedMs);
    });
  const rt = useRealtime(kbId, mode, {
    onAudio: (itemId, pcm) => playback.push(itemId, pcm),
    onSpeechStarted: interrupt,
    onTurn,
    ...(onTruncated ? { onTruncated } : {}),
  }, conversationId);

  const releaseAudio = () => {
    clearTimeout(tail.current);
    sending.current = false;
    holding.current = false;
    setHeld(false);
    mic.stop();
    playback.detach();
    const ctx = context.current;
    context.current = null;
    void ctx?.close().catch(() => {});
  };

  const mic = useMicrophone({
    onFrame: (pcm) => {
      if (modeRef.current === 'push-to-talk' && !sending.current) return;
      if (rt.sendAudio(pcm) && sending.current) heldFrames.current++;
    },
    onEnded: () => {
      releaseAudio();
      rt.fail('microphone_lost', 'The microphone was disconnected. Choose another one, then start voice again.');
    },
  });

  const start = async () => {
    // Made in the click's own task: browsers only let a page start audio in answer to a gesture.
    let ctx: AudioContext;
    try {
      ctx = new AudioContext({ latencyHint: 'interactive' });
    } catch {
      rt.fail('audio_unsupported', 'This browser cannot record and play audio here.');
      return;
    }
    context.current = ctx;
    rt.start();
    try {
      await ctx.resume();
      await playback.attach(ctx);
      await mic.start(ctx, deviceId);
    } catch (err) {
      if (context.current !== ctx) return;
      releaseAudio();
      const problem = microphoneProblem(err);
      rt.fail(problem.code, problem.message);
    }
  };

  const stop = () => {
    releaseAudio();
    rt.stop();
  };

  // The connection gave up, or the server ended the session: the microphone goes off with it.
  const connection = rt.state.connection;
  useEffect(() => {
    if ((connection === 'off' || connection === 'failed') && context.current) releaseAudio();
    // oxlint-disable-next-line react/exhaustive-deps -- releaseAudio only touches refs and stable hooks
  }, [connection]);

  useEffect(() => {
    onLive(rt.state.turns);
    // oxlint-disable-next-line react/exhaustive-deps -- the page's callback may change identity every render
  }, [rt.state.turns]);

  useEffect(() => {
    if (!controlRef) return;
    controlRef.current = { stop };
    return () => {
      controlRef.current = null;
    };
  });

  useEffect(() => () => releaseAudio(), []); // oxlint-disable-line react/exhaustive-deps -- on unmount only

  const chooseMode = (next: VoiceMode) => {
    setMode(next);
    remember(MODE_KEY, next);
    if (next === 'hands-free') release();
  };

  const chooseDevice = (next: string) => {
    setDeviceId(next);
    remember(DEVICE_KEY, next);
    const ctx = context.current;
    if (ctx && mic.live) {
      mic.start(ctx, next).catch((err: unknown) => {
        releaseAudio();
        const problem = microphoneProblem(err);
        rt.fail(problem.code, problem.message);
      });
    }
  };

  const press = () => {
    if (rt.state.connection !== 'open' || holding.current) return;
    clearTimeout(tail.current);
    holding.current = true;
    setHeld(true);
    rt.hold(true);
    // Pressed again before the last release was sent: the same utterance goes on.
    if (sending.current) return;
    sending.current = true;
    heldFrames.current = 0;
    // Talking over the answer stops it, as it does hands-free.
    if (playback.playing || responding(rt.state)) {
      rt.silence();
      interrupt();
      if (responding(rt.state)) rt.cancel();
    }
    rt.clear();
  };

  const release = () => {
    // Pointer up, lost capture and blur can all report the same release.
    if (!holding.current) return;
    holding.current = false;
    setHeld(false);
    rt.hold(false);
    clearTimeout(tail.current);
    tail.current = setTimeout(() => {
      sending.current = false;
      if (heldFrames.current >= MIN_HELD_FRAMES) rt.commit();
      else {
        rt.clear();
        rt.notice('Hold the talk button down while you speak, then let go.');
      }
    }, RELEASE_TAIL_MS);
  };

  const phase = voicePhase(rt.state, playback.playing);
  const on = connection !== 'off' && connection !== 'failed';
  const { transcript, notice } = rt.state;
  const devices = mic.devices.filter((d) => d.deviceId && d.deviceId !== 'default');

  return (
    <section
      class={`voice voice-${phase}`}
      aria-labelledby={`${id}-heading`}
      data-phase={phase}
      data-played-frames={playback.stats.playedFrames}
      data-queued-frames={playback.stats.queuedFrames}
    >
      <h3 id={`${id}-heading`} class="visually-hidden">
        Voice
      </h3>
      <div class="voice-controls">
        {on ? (
          <Button variant="danger" onClick={stop}>
            Stop voice
          </Button>
        ) : (
          <Button variant="primary" onClick={() => void start()}>
            <MicIcon />
            Start voice
          </Button>
        )}
        <fieldset class="voice-mode">
          <legend class="visually-hidden">Voice mode</legend>
          {MODES.map((m) => (
            <label key={m.value} class="voice-mode-option">
              <input type="radio" name={`${id}-mode`} value={m.value} checked={mode === m.value} onChange={() => chooseMode(m.value)} />
              <span>{m.label}</span>
            </label>
          ))}
        </fieldset>
        <div class="voice-device">
          <label for={`${id}-device`}>Microphone</label>
          <select id={`${id}-device`} value={deviceId} onChange={(e) => chooseDevice(e.currentTarget.value)}>
            <option value="">Default microphone</option>
            {devices.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
            {deviceId && !devices.some((d) => d.deviceId === deviceId) && <option value={deviceId}>The microphone chosen before</option>}
          </select>
        </div>
      </div>
      <div class="voice-live">
        {on && <Meter level={mic.level} />}
        <p class="voice-state" role="status">
          {phase === 'off' ? '' : phaseText(phase, rt.state, mode)}
        </p>
        {on && mode === 'push-to-talk' && (
          <button
            type="button"
            class="voice-talk"
            aria-pressed={held}
            disabled={connection !== 'open'}
            onPointerDown={(e) => {
              if (e.button !== 0) return;
              e.currentTarget.setPointerCapture(e.pointerId);
              press();
            }}
            onPointerUp={release}
            onPointerCancel={release}
            onLostPointerCapture={release}
            onKeyDown={(e) => {
              if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
                e.preventDefault();
                press();
              }
            }}
            onKeyUp={(e) => {
              if (e.key === ' ' || e.key === 'Enter') {
                e.preventDefault();
                release();
              }
            }}
            onBlur={release}
            onContextMenu={(e) => e.preventDefault()}
          >
            <MicIcon />
            Hold to talk
          </button>
        )}
      </div>
      <p class={`voice-transcript${transcript?.final ? '' : ' voice-transcript-partial'}`} aria-live="polite">
        {transcript && transcript.text ? (transcript.final ? `You said: “${transcript.text}”` : `“${transcript.text}…”`) : ''}
      </p>
      {notice && <p class="voice-notice">{notice}</p>}
      {!on && hint && phase === 'off' && <p class="field-hint voice-hint">{hint}</p>}
    </section>
  );
}
