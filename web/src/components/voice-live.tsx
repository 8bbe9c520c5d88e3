import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Turn } from '../chat-model.ts';
import { useMicrophone } from '../hooks/use-microphone.ts';
import { usePlayback } from '../hooks/use-playback.ts';
import { useRealtime } from '../hooks/use-realtime.ts';
import { PushToTalk } from '../voice/push-to-talk.ts';
import { microphoneProblem, phaseText, responding, voicePhase, type VoiceMode } from '../voice/voice-model.ts';
import type { VoiceControl } from './voice-panel.tsx';
import { VoiceView, type VoiceShown } from './voice-view.tsx';

// The running voice panel, loaded by voice-panel.tsx with import() when voice is first started,
// so none of the voice code is in the main bundle. It wires the browser's parts (the microphone,
// the speakers) to the realtime client and the talk button; the rules live in web/src/voice/.

export interface VoiceLiveProps {
  kbId: string;
  conversationId: string | null;
  onLive(turns: Turn[]): void;
  onTurn(turn: Turn, conversationId: string | null): void;
  onTruncated?(messageId: string, heard: string): void;
  controlRef?: RefObject<VoiceControl | null>;
  hint?: string;
  mode: VoiceMode;
  deviceId: string;
  devices: MediaDeviceInfo[];
  onMode(mode: VoiceMode): void;
  onDevice(deviceId: string): void;
  /** Device labels may be readable now. */
  onDevicesChanged(): void;
  /** The section around the controls belongs to the panel: what it says is handed up. */
  onShown(shown: VoiceShown): void;
  /** The audio context made in the Start click that loaded this, or null when the browser could not make one. */
  opening: AudioContext | null;
}

const clock = { setTimeout: (run: () => void, ms: number) => setTimeout(run, ms), clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>) };

/** Made in the click's own task: browsers only let a page start audio in answer to a gesture. */
function audioContext(): AudioContext | null {
  try {
    return new AudioContext({ latencyHint: 'interactive' });
  } catch {
    return null;
  }
}

export function VoiceLive(props: VoiceLiveProps) {
  const { mode, deviceId } = props;
  const [held, setHeld] = useState(false);
  const context = useRef<AudioContext | null>(null);
  /** Voice was started here: until then the panel's own "connecting" stands. */
  const begun = useRef(false);
  const modeRef = useRef(mode);
  modeRef.current = mode;

  const playback = usePlayback();
  const playing = useRef(false);
  playing.current = playback.playing;
  // Barge-in: silence the answer at once, then tell the server how much of it was heard.
  const interrupt = () =>
    void playback.flush().then((flushed) => {
      if (flushed.cut && flushed.itemId) rt.truncate(flushed.itemId, flushed.playedMs);
    });
  const { state, client: rt } = useRealtime(
    props.kbId,
    mode,
    { onAudio: (itemId, pcm) => playback.push(itemId, pcm), onSpeechStarted: interrupt, onTurn: props.onTurn, onTruncated: (id, heard) => props.onTruncated?.(id, heard) },
    props.conversationId,
  );

  const [ptt] = useState(
    () =>
      new PushToTalk(
        {
          canTalk: () => rt.state.connection === 'open',
          responding: () => responding(rt.state),
          playing: () => playing.current,
          interrupt: () => {
            rt.silence();
            interrupt();
          },
          cancel: () => rt.cancel(),
          hold: (h) => rt.hold(h),
          clear: () => rt.clear(),
          commit: () => rt.commit(),
          notice: (text) => rt.notice(text),
        },
        clock,
        setHeld,
      ),
  );

  const releaseAudio = () => {
    ptt.reset();
    mic.stop();
    playback.detach();
    const ctx = context.current;
    context.current = null;
    void ctx?.close().catch(() => {});
  };

  const failWith = (err: unknown) => {
    releaseAudio();
    const problem = microphoneProblem(err);
    rt.fail(problem.code, problem.message);
  };

  const mic = useMicrophone({
    onFrame: (pcm) => ptt.frame(() => rt.sendAudio(pcm), modeRef.current === 'hands-free'),
    onEnded: () => {
      releaseAudio();
      rt.fail('microphone_lost', 'The microphone was disconnected. Choose another one, then start voice again.');
    },
    onOpened: props.onDevicesChanged,
  });

  const start = async (ctx: AudioContext | null) => {
    begun.current = true;
    if (!ctx) {
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
      if (context.current === ctx) failWith(err);
    }
  };

  const stop = () => {
    releaseAudio();
    rt.stop();
  };

  // The connection gave up, or the server ended the session: the microphone goes off with it.
  const connection = state.connection;
  useEffect(() => {
    if ((connection === 'off' || connection === 'failed') && context.current) releaseAudio();
    // oxlint-disable-next-line react/exhaustive-deps -- releaseAudio only touches refs and stable hooks
  }, [connection]);

  useEffect(() => {
    props.onLive(state.turns);
    // oxlint-disable-next-line react/exhaustive-deps -- the page's callback may change identity every render
  }, [state.turns]);

  useEffect(() => {
    if (!props.controlRef) return;
    const ref = props.controlRef;
    ref.current = { stop };
    return () => {
      ref.current = null;
    };
  });

  useEffect(() => {
    void start(props.opening);
    return () => releaseAudio();
  }, []); // oxlint-disable-line react/exhaustive-deps -- started once with the Start click's context; released on unmount

  const chooseMode = (next: VoiceMode) => {
    props.onMode(next);
    if (next === 'hands-free') ptt.release();
  };

  const chooseDevice = (next: string) => {
    props.onDevice(next);
    const ctx = context.current;
    if (ctx && mic.live) mic.start(ctx, next).catch(failWith);
  };

  const phase = voicePhase(state, playback.playing);
  const on = connection !== 'off' && connection !== 'failed';
  const { playedFrames, queuedFrames } = playback.stats;
  useLayoutEffect(() => {
    if (begun.current) props.onShown({ phase, playedFrames, queuedFrames });
    // oxlint-disable-next-line react/exhaustive-deps -- the panel's setter is stable
  }, [phase, playedFrames, queuedFrames]);
  return (
    <VoiceView
      phase={phase}
      status={phaseText(phase, state, mode)}
      on={on}
      mode={mode}
      deviceId={deviceId}
      devices={props.devices}
      onStart={() => void start(audioContext())}
      onStop={stop}
      onMode={chooseMode}
      onDevice={chooseDevice}
      level={mic.level}
      talk={mode === 'push-to-talk' ? { held, enabled: connection === 'open', press: () => ptt.press(), release: () => ptt.release() } : null}
      transcript={state.transcript}
      notice={state.notice}
      hint={props.hint}
    />
  );
}
