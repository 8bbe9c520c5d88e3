import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Flushed } from '../voice/frame-queue.ts';
import { loadWorklet } from '../voice/worklets.ts';
import type { PlaybackCommand, PlaybackFlushed, PlaybackStatus } from '../worklets/playback.ts';

export interface PlaybackStats {
  /** 24 kHz frames played since voice started; only ever grows. */
  playedFrames: number;
  queuedFrames: number;
}

export interface Playback {
  stats: PlaybackStats;
  /** Answer audio is coming out of the speakers (or is queued to). */
  playing: boolean;
  attach(context: AudioContext): Promise<void>;
  detach(): void;
  /** 24 kHz pcm16 of assistant item `itemId`, in order. */
  push(itemId: string, pcm: Int16Array): void;
  /** Silences the answer at once; resolves with how much of it had been heard. */
  flush(): Promise<Flushed>;
}

/** How long to wait for the audio thread to confirm a flush before trusting the last report. */
const FLUSH_TIMEOUT_MS = 250;

/** The answer's voice through the playback worklet (see web/src/worklets/playback.ts). */
export function usePlayback(): Playback {
  const [stats, setStats] = useState<PlaybackStats>({ playedFrames: 0, queuedFrames: 0 });
  const node = useRef<AudioWorkletNode | null>(null);
  const nextFlush = useRef(0);
  const waiting = useRef(new Map<number, (flushed: Flushed) => void>());

  const detach = useCallback(() => {
    node.current?.port.close();
    node.current?.disconnect();
    node.current = null;
    for (const resolve of waiting.current.values()) resolve({ itemId: null, playedMs: 0, cut: false });
    waiting.current.clear();
    setStats((s) => ({ ...s, queuedFrames: 0 }));
  }, []);

  const attach = useCallback(
    async (context: AudioContext) => {
      detach();
      await loadWorklet(context, 'playback');
      const created = new AudioWorkletNode(context, 'lectern-playback', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
      created.port.onmessage = (e: MessageEvent<PlaybackStatus | PlaybackFlushed>) => {
        const message = e.data;
        if (message.type === 'flushed') {
          waiting.current.get(message.id)?.({ itemId: message.itemId, playedMs: message.playedMs, cut: message.cut });
          waiting.current.delete(message.id);
          return;
        }
        setStats((s) => (s.playedFrames === message.playedFrames && s.queuedFrames === message.queuedFrames ? s : { playedFrames: message.playedFrames, queuedFrames: message.queuedFrames }));
      };
      created.connect(context.destination);
      node.current = created;
    },
    [detach],
  );

  const push = useCallback((itemId: string, pcm: Int16Array) => {
    const buffer = pcm.slice().buffer;
    node.current?.port.postMessage({ type: 'push', itemId, pcm: buffer } satisfies PlaybackCommand, [buffer]);
  }, []);

  const flush = useCallback((): Promise<Flushed> => {
    const target = node.current;
    if (!target) return Promise.resolve({ itemId: null, playedMs: 0, cut: false });
    const id = nextFlush.current++;
    return new Promise((resolve) => {
      waiting.current.set(id, resolve);
      target.port.postMessage({ type: 'flush', id } satisfies PlaybackCommand);
      setTimeout(() => {
        if (!waiting.current.delete(id)) return;
        resolve({ itemId: null, playedMs: 0, cut: false });
      }, FLUSH_TIMEOUT_MS);
    });
  }, []);

  useEffect(() => detach, [detach]);

  return { stats, playing: stats.queuedFrames > 0, attach, detach, push, flush };
}
