// The subset of the OpenAI Realtime event protocol that Lectern speaks, plus its `lectern.*`
// extensions. Client events are validated here and nowhere else; server events are built here so
// their shapes stay in one place.

import { z } from 'zod';
import type { Citation } from '../agent/types.ts';

export const INPUT_RATES = [16_000, 24_000] as const;
export type InputRate = (typeof INPUT_RATES)[number];

export const EAGERNESS = ['low', 'medium', 'high', 'auto'] as const;
export type Eagerness = (typeof EAGERNESS)[number];

/**
 * `server_vad` ends a turn after `silence_duration_ms` of silence. `semantic_vad` judges each pause
 * (the words so far, and a turn model where one is installed): a finished question ends at once,
 * a sentence left hanging waits longer, and a pause it cannot judge waits `silence_duration_ms`.
 */
export type TurnDetection =
  | { type: 'server_vad'; threshold: number; prefix_padding_ms: number; silence_duration_ms: number }
  | { type: 'semantic_vad'; eagerness: Eagerness; threshold: number; prefix_padding_ms: number; silence_duration_ms: number };

export const SERVER_VAD: TurnDetection = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 };
export const SEMANTIC_VAD: TurnDetection = { type: 'semantic_vad', eagerness: 'auto', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 600 };

export interface SessionConfig {
  id: string;
  object: 'realtime.session';
  type: 'realtime';
  model: string;
  output_modalities: Array<'text' | 'audio'>;
  audio: {
    input: { format: { type: 'audio/pcm'; rate: InputRate }; turn_detection: TurnDetection | null };
    output: { format: { type: 'audio/pcm'; rate: InputRate }; voice: string | null };
  };
}

const eventId = z.string().max(128).optional();
const format = z.object({ type: z.literal('audio/pcm'), rate: z.union(INPUT_RATES.map((r) => z.literal(r))) });
const vadSettings = {
  threshold: z.number().min(0.05).max(0.95).optional(),
  prefix_padding_ms: z.int().min(0).max(2_000).optional(),
  silence_duration_ms: z.int().min(100).max(5_000).optional(),
};
const turnDetection = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('server_vad'), ...vadSettings }),
    z.object({ type: z.literal('semantic_vad'), eagerness: z.enum(EAGERNESS).optional(), ...vadSettings }),
  ])
  .nullable();

const sessionUpdate = z.object({
  type: z.literal('session.update'),
  event_id: eventId,
  session: z.object({
    type: z.literal('realtime').optional(),
    output_modalities: z.array(z.enum(['text', 'audio'])).min(1).optional(),
    audio: z
      .object({
        input: z.object({ format: format.optional(), turn_detection: turnDetection.optional() }).optional(),
        output: z.object({ format: format.optional() }).optional(),
      })
      .optional(),
  }),
});

// ~750 KB of base64 per append (≈ 16 s of 24 kHz pcm16): well under the frame limit.
const append = z.object({ type: z.literal('input_audio_buffer.append'), event_id: eventId, audio: z.base64().max(1_000_000) });

const itemCreate = z.object({
  type: z.literal('conversation.item.create'),
  event_id: eventId,
  item: z.object({
    id: z.string().max(64).optional(),
    type: z.literal('message'),
    role: z.literal('user'),
    content: z.array(z.object({ type: z.literal('input_text'), text: z.string().max(4_000) })).min(1),
  }),
});

const itemTruncate = z.object({
  type: z.literal('conversation.item.truncate'),
  event_id: eventId,
  item_id: z.string().min(1).max(64),
  content_index: z.int().min(0).max(16).default(0),
  /** How much of the item's audio the listener heard before interrupting it. */
  audio_end_ms: z.int().min(0).max(3_600_000),
});

const bare = <T extends string>(type: T) => z.object({ type: z.literal(type), event_id: eventId });

export const clientEvent = z.discriminatedUnion('type', [
  sessionUpdate,
  append,
  itemCreate,
  itemTruncate,
  bare('input_audio_buffer.commit'),
  bare('input_audio_buffer.clear'),
  bare('response.create'),
  bare('response.cancel'),
]);
export type ClientEvent = z.infer<typeof clientEvent>;
export type SessionUpdate = z.infer<typeof sessionUpdate>['session'];

export const CLIENT_EVENT_TYPES = clientEvent.options.map((o) => o.shape.type.value);

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

/** Per-turn timings (ms) and audio of a response, in `response.done` as `metadata.lectern_metrics`. */
export interface TurnMetrics {
  speech_end_to_transcript_ms: number | null;
  speech_end_to_first_token_ms: number | null;
  speech_end_to_first_audio_ms: number | null;
  stt_ms: number | null;
  first_token_ms: number | null;
  tts_first_sentence_ms: number | null;
  tts_ms: number;
  audio_in_seconds: number;
  audio_out_seconds: number;
  characters_synthesised: number;
  /** Prompt tokens the local LLM evaluated while the person was still speaking. */
  speculative_prompt_tokens: number;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'cancelled' | 'failed';

/** Server events; `event_id` is added by the sender. */
export const serverEvents = {
  sessionCreated: (session: SessionConfig) => ({ type: 'session.created', session }),
  sessionUpdated: (session: SessionConfig) => ({ type: 'session.updated', session }),
  itemCreated: (item: { id: string; role: 'user' | 'assistant'; text: string }, previousItemId: string | null) => ({
    type: 'conversation.item.created',
    previous_item_id: previousItemId,
    item: { id: item.id, object: 'realtime.item', type: 'message', status: 'completed', role: item.role, content: [{ type: item.role === 'user' ? 'input_text' : 'output_text', text: item.text }] },
  }),
  speechStarted: (itemId: string, audioStartMs: number) => ({ type: 'input_audio_buffer.speech_started', item_id: itemId, audio_start_ms: Math.round(audioStartMs) }),
  speechStopped: (itemId: string, audioEndMs: number) => ({ type: 'input_audio_buffer.speech_stopped', item_id: itemId, audio_end_ms: Math.round(audioEndMs) }),
  committed: (itemId: string, previousItemId: string | null) => ({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previousItemId }),
  cleared: () => ({ type: 'input_audio_buffer.cleared' }),
  transcriptionDelta: (itemId: string, delta: string) => ({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta }),
  transcriptionCompleted: (itemId: string, transcript: string) => ({
    type: 'conversation.item.input_audio_transcription.completed',
    item_id: itemId,
    content_index: 0,
    transcript,
  }),
  response: (id: string, status: ResponseStatus, usage: Usage | null, conversationId: string | null, metrics?: TurnMetrics, messageId?: string | null) => ({
    type: status === 'in_progress' ? 'response.created' : 'response.done',
    response: {
      id,
      object: 'realtime.response',
      status,
      usage,
      metadata:
        conversationId || metrics
          ? {
              ...(conversationId ? { lectern_conversation_id: conversationId } : {}),
              ...(messageId ? { lectern_message_id: messageId } : {}),
              ...(metrics ? { lectern_metrics: metrics } : {}),
            }
          : null,
    },
  }),
  /** With the stored answer and the text kept (Lectern fields), so a client can show what was heard. */
  truncated: (itemId: string, contentIndex: number, audioEndMs: number, kept: { messageId: string | null; text: string }) => ({
    type: 'conversation.item.truncated',
    item_id: itemId,
    content_index: contentIndex,
    audio_end_ms: audioEndMs,
    lectern_message_id: kept.messageId,
    lectern_text: kept.text,
  }),
  resumed: (sessionId: string, conversationId: string | null) => ({ type: 'lectern.session.resumed', session_id: sessionId, conversation_id: conversationId }),
  /** Every per-part event of one response carries the same addressing fields. */
  part: (type: string, responseId: string, itemId: string, fields: Record<string, unknown> = {}) => ({
    type,
    response_id: responseId,
    item_id: itemId,
    output_index: 0,
    content_index: 0,
    ...fields,
  }),
  citation: (responseId: string, citation: Citation) => ({ type: 'lectern.citation', response_id: responseId, citation }),
} as const;
