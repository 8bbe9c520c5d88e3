// The client events the console sends to /v1/realtime (docs/realtime.md), built in one place.

import { VOICE_RATE } from './pcm.ts';
import type { VoiceMode } from './voice-model.ts';

/**
 * The socket URL on this origin: the console's session cookie goes with it, and the server checks
 * the Origin. A resumed session keeps its own conversation; a new one may continue `conversation`.
 */
export function realtimeUrl(kbId: string, resume: string | null, where: Pick<Location, 'protocol' | 'host'>, conversation: string | null = null): string {
  const params = new URLSearchParams({ model: `kb:${kbId}` });
  if (resume) params.set('resume', resume);
  else if (conversation) params.set('conversation', conversation);
  return `${where.protocol === 'https:' ? 'wss' : 'ws'}://${where.host}/v1/realtime?${params}`;
}

export function sessionUpdate(mode: VoiceMode): Record<string, unknown> {
  const format = { type: 'audio/pcm', rate: VOICE_RATE };
  return {
    type: 'session.update',
    session: {
      type: 'realtime',
      audio: {
        // Hands-free lets the server find the turns, ending one at the first short pause once the
        // speaker has finished (semantic_vad, docs/realtime.md); push-to-talk commits by hand.
        input: { format, turn_detection: mode === 'hands-free' ? { type: 'semantic_vad' } : null },
        output: { format },
      },
    },
  };
}

/** How much of an assistant item's audio was heard, in whole milliseconds, never negative. */
export function truncateEvent(itemId: string, audioEndMs: number): Record<string, unknown> {
  return { type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: Math.max(0, Math.round(audioEndMs)) };
}
