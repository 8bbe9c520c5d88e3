import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, toApiError, type Answer } from '../api.ts';
import { applyAskEvent, endReply, streamingReply, type Turn } from '../chat-model.ts';
import { readSse } from '../sse.ts';

export interface AskResult {
  turn: Turn;
  /** Where the answer was stored; null when the stream ended before `done` said so. */
  conversationId: string | null;
}

export interface Asking {
  /** The turn being answered, updated as events arrive; null when idle. */
  live: Turn | null;
  ask(question: string, conversationId: string | null): Promise<AskResult | null>;
  /** Closes the connection, which cancels the answer on the server. */
  stop(): void;
}

/**
 * One question at a time, streamed: a POST whose response is server-sent events, read with fetch
 * (EventSource cannot POST). `ask` resolves once the answer has ended however it ended — or with
 * null if the component went away meanwhile, which also stops the answer.
 */
export function useAsk(kbId: string): Asking {
  const [live, setLive] = useState<Turn | null>(null);
  const controller = useRef<AbortController | null>(null);
  const nextKey = useRef(0);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      controller.current?.abort();
    };
  }, []);

  const ask = useCallback(
    async (question: string, conversationId: string | null): Promise<AskResult | null> => {
      controller.current?.abort();
      const ctrl = new AbortController();
      controller.current = ctrl;
      let turn: Turn = { key: `asked-${nextKey.current++}`, question, reply: streamingReply() };
      let stored: string | null = conversationId;
      const update = (next: Turn) => {
        turn = next;
        if (mounted.current && controller.current === ctrl) setLive(next);
      };
      update(turn);
      try {
        const res = await api.askStream(kbId, conversationId ? { question, conversationId } : { question }, ctrl.signal);
        if (!res.body) throw new Error('The server sent no answer stream.');
        for await (const { event, data } of readSse(res.body)) {
          let payload: unknown;
          try {
            payload = JSON.parse(data);
          } catch {
            continue;
          }
          // `done` carries it; so may an earlier event, which would let a stopped first question keep its conversation.
          const id = (payload as Partial<Answer> | null)?.conversationId;
          if (typeof id === 'string') stored = id;
          update({ ...turn, reply: applyAskEvent(turn.reply ?? streamingReply(), event, payload) });
        }
        update({ ...turn, reply: endReply(turn.reply ?? streamingReply(), false, null) });
      } catch (err) {
        update({ ...turn, reply: endReply(turn.reply ?? streamingReply(), ctrl.signal.aborted, toApiError(err)) });
      }
      if (controller.current !== ctrl) return null;
      controller.current = null;
      if (!mounted.current) return null;
      setLive(null);
      return { turn, conversationId: stored };
    },
    [kbId],
  );

  const stop = useCallback(() => controller.current?.abort(), []);

  return { live, ask, stop };
}
