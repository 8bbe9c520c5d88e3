import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { meterLevel } from '../voice/pcm.ts';
import { loadWorklet } from '../voice/worklets.ts';
import type { CaptureFrame, CaptureLevel } from '../worklets/capture.ts';

export interface Microphone {
  /** 0–1, for the meter. */
  level: number;
  live: boolean;
  /** Opens `deviceId` ('' for the system default) into `context`. Rejects with getUserMedia's error. */
  start(context: AudioContext, deviceId: string): Promise<void>;
  stop(): void;
}

interface Handlers {
  /** 100 ms of 24 kHz pcm16. */
  onFrame(pcm: Int16Array): void;
  /** The device went away (unplugged, or revoked by the browser). */
  onEnded(): void;
  /** Access was granted: the devices' labels can be read now. */
  onOpened(): void;
}

/**
 * The microphone through the capture worklet (see web/src/worklets/capture.ts): echo
 * cancellation and noise suppression on, because the answer plays through the same room.
 */
export function useMicrophone(handlers: Handlers): Microphone {
  const [level, setLevel] = useState(0);
  const [live, setLive] = useState(false);
  const current = useRef(handlers);
  current.current = handlers;
  const parts = useRef<{ stream: MediaStream; source: MediaStreamAudioSourceNode; node: AudioWorkletNode } | null>(null);

  const stop = useCallback(() => {
    const p = parts.current;
    parts.current = null;
    if (p) {
      p.node.port.close();
      p.source.disconnect();
      p.node.disconnect();
      for (const track of p.stream.getTracks()) track.stop();
    }
    setLive(false);
    setLevel(0);
  }, []);

  const start = useCallback(
    async (context: AudioContext, deviceId: string) => {
      stop();
      // Plain http on another host has no mediaDevices at all: say why, not "undefined".
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('The microphone needs a secure connection (https).'), { name: 'SecurityError' });
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { ...(deviceId ? { deviceId: { exact: deviceId } } : {}), echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
      try {
        await loadWorklet(context, 'capture');
      } catch (err) {
        for (const track of stream.getTracks()) track.stop();
        throw err;
      }
      const source = context.createMediaStreamSource(stream);
      // One silent output, connected: a node nobody pulls from is not run by every engine.
      const node = new AudioWorkletNode(context, 'lectern-capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
      node.port.onmessage = (e: MessageEvent<CaptureFrame | CaptureLevel>) => {
        if (e.data.type === 'frame') current.current.onFrame(new Int16Array(e.data.pcm));
        else {
          const next = meterLevel(e.data.rms);
          setLevel((was) => (Math.abs(was - next) < 0.01 ? was : next));
        }
      };
      source.connect(node);
      node.connect(context.destination);
      for (const track of stream.getAudioTracks()) track.addEventListener('ended', () => parts.current?.stream === stream && current.current.onEnded());
      parts.current = { stream, source, node };
      setLive(true);
      current.current.onOpened();
    },
    [stop],
  );

  useEffect(() => stop, [stop]);

  return { level, live, start, stop };
}
