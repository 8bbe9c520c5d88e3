import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { RealtimeClient, type RealtimeDeps, type RealtimeEvents } from '../voice/realtime-client.ts';
import type { RefusalLookups } from '../voice/refusal.ts';
import { initialVoiceState, type VoiceMode, type VoiceState } from '../voice/voice-model.ts';

export type RealtimeHandlers = Omit<RealtimeEvents, 'onState'>;

/** What the upgrade checked, asked of the REST API: its 401 reaches the console's session handling, which signs the person out. */
const lookups: RefusalLookups = { kb: (id) => api.getKb(id), conversation: (id) => api.getConversation(id) };

const browser = (): RealtimeDeps => ({
  WebSocket,
  location,
  clock: { setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>) },
  lookups,
});

/**
 * voice/realtime-client.ts for a component: one client per mounted panel, its state as component
 * state, and the latest handlers, mode and conversation handed to it on every render.
 */
export function useRealtime(kbId: string, mode: VoiceMode, handlers: RealtimeHandlers, conversationId: string | null = null): { state: VoiceState; client: RealtimeClient } {
  const on = useRef(handlers);
  on.current = handlers;
  const [state, setState] = useState<VoiceState>(initialVoiceState);
  const [client] = useState(
    () =>
      new RealtimeClient(kbId, browser(), {
        onState: setState,
        onAudio: (itemId, pcm) => on.current.onAudio(itemId, pcm),
        onSpeechStarted: () => on.current.onSpeechStarted(),
        onTurn: (turn, stored) => on.current.onTurn(turn, stored),
        onTruncated: (messageId, heard) => on.current.onTruncated?.(messageId, heard),
      }),
  );
  client.kbId = kbId;
  client.conversationId = conversationId;

  useEffect(() => {
    client.mode = mode;
  }, [client, mode]);
  useEffect(() => () => client.dispose(), [client]);

  return { state, client };
}
