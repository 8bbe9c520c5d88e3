import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Turn } from '../chat-model.ts';
import { useAudioInputs } from '../hooks/use-audio-inputs.ts';
import type { VoiceMode, VoicePhase } from '../voice/voice-model.ts';
import type { VoiceLiveProps } from './voice-live.tsx';
import { VoiceSection, VoiceView, type VoiceShown } from './voice-view.tsx';

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

const MODE_KEY = 'lectern.voice.mode';
const DEVICE_KEY = 'lectern.voice.microphone';
const NOT_LOADED = 'Error: Voice could not be loaded (the console may have been updated). Reload the page, then start voice again.';

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

type VoiceModule = typeof import('./voice-live.tsx');
let loading: Promise<VoiceModule> | null = null;

/** The voice code, fetched the first time anyone starts voice; a failed fetch may be tried again. */
function loadVoice(): Promise<VoiceModule> {
  loading ??= import('./voice-live.tsx').catch((err: unknown) => {
    loading = null;
    throw err;
  });
  return loading;
}

/** Made in the click's own task: browsers only let a page start audio in answer to a gesture. */
function audioContext(): AudioContext | null {
  try {
    return new AudioContext({ latencyHint: 'interactive' });
  } catch {
    return null;
  }
}

/**
 * Voice for the chat: the microphone streams to /v1/realtime, the answer streams back as text
 * (into the thread) and as speech (through the playback worklet). Hands-free lets the server
 * find the turns and lets the person talk over an answer to stop it; push-to-talk sends audio
 * only while the button is held.
 *
 * This part is in the main bundle: the controls and the person's choices (mode, microphone). The
 * first Start loads the rest (voice-live.tsx and web/src/voice/) and hands over to it for good.
 */
export function VoicePanel(props: Props) {
  const [mode, setMode] = useState<VoiceMode>(() => (remembered(MODE_KEY) === 'push-to-talk' ? 'push-to-talk' : 'hands-free'));
  const [deviceId, setDeviceId] = useState(() => remembered(DEVICE_KEY) ?? '');
  const inputs = useAudioInputs();
  const [live, setLive] = useState<{ module: VoiceModule; opening: AudioContext | null } | null>(null);
  /** Start was pressed and the voice code is on its way; the context made in that click. */
  const [pending, setPending] = useState<{ opening: AudioContext | null } | null>(null);
  const pendingRef = useRef(pending);
  pendingRef.current = pending;
  const [failed, setFailed] = useState(false);
  /** What the running voice code last said about itself, for the section. */
  const [shown, setShown] = useState<VoiceShown>({ phase: 'off', playedFrames: 0, queuedFrames: 0 });

  const start = () => {
    const opening = { opening: audioContext() };
    setPending(opening);
    setFailed(false);
    loadVoice().then(
      (module) => {
        if (pendingRef.current !== opening) return;
        setPending(null);
        setShown({ phase: 'connecting', playedFrames: 0, queuedFrames: 0 });
        setLive({ module, opening: opening.opening });
      },
      () => {
        if (pendingRef.current !== opening) return;
        setPending(null);
        setFailed(true);
        void opening.opening?.close().catch(() => {});
      },
    );
  };

  const stop = () => {
    void pendingRef.current?.opening?.close().catch(() => {});
    pendingRef.current = null;
    setPending(null);
  };

  useEffect(() => {
    if (live || !props.controlRef) return;
    const ref = props.controlRef;
    ref.current = { stop };
    return () => {
      ref.current = null;
    };
  });

  const chooseMode = (next: VoiceMode) => {
    setMode(next);
    remember(MODE_KEY, next);
  };

  const chooseDevice = (next: string) => {
    setDeviceId(next);
    remember(DEVICE_KEY, next);
  };

  if (live) {
    const { VoiceLive } = live.module;
    const liveProps: VoiceLiveProps = {
      ...props,
      conversationId: props.conversationId ?? null,
      mode,
      deviceId,
      devices: inputs.devices,
      onMode: chooseMode,
      onDevice: chooseDevice,
      onDevicesChanged: inputs.refresh,
      onShown: setShown,
      opening: live.opening,
    };
    return (
      <VoiceSection shown={shown}>
        <VoiceLive {...liveProps} />
      </VoiceSection>
    );
  }
  const phase: VoicePhase = pending ? 'connecting' : failed ? 'error' : 'off';
  return (
    <VoiceSection shown={{ phase, playedFrames: 0, queuedFrames: 0 }}>
      <VoiceView
        phase={phase}
        status={pending ? 'Connecting…' : NOT_LOADED}
        on={pending !== null}
        mode={mode}
        deviceId={deviceId}
        devices={inputs.devices}
        onStart={start}
        onStop={stop}
        onMode={chooseMode}
        onDevice={chooseDevice}
        level={0}
        talk={null}
        transcript={null}
        notice={null}
        hint={props.hint}
      />
    </VoiceSection>
  );
}
