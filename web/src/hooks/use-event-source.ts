import { useEffect, useRef, useState } from 'preact/hooks';

export type LiveState = 'connecting' | 'open' | 'reconnecting';

export interface EventSourceHandlers {
  /** Called with each named event's parsed JSON data. */
  events: Record<string, (data: unknown) => void>;
  /**
   * Called on every (re)connection. Events sent while disconnected are lost, so callers refetch
   * here; on the first open this also closes the gap between their initial fetch and subscribing.
   */
  onOpen?: () => void;
}

const RETRY_MS = [2_000, 5_000, 10_000, 30_000];

/**
 * A Server-Sent Events subscription for the lifetime of the component (or until `url` changes).
 * The browser reconnects by itself after network errors; when it gives up (the server answered
 * with an error status) we open a fresh EventSource with backoff.
 */
export function useEventSource(url: string | null, handlers: EventSourceHandlers): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  // Handlers change every render; the connection must not.
  const current = useRef(handlers);
  current.current = handlers;
  const names = Object.keys(handlers.events).join(',');

  useEffect(() => {
    if (!url) return;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;

    const connect = () => {
      const es = new EventSource(url);
      source = es;
      es.onopen = () => {
        failures = 0;
        setState('open');
        current.current.onOpen?.();
      };
      es.onerror = () => {
        setState('reconnecting');
        if (es.readyState !== EventSource.CLOSED) return;
        es.close();
        timer = setTimeout(connect, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
      };
      for (const name of names.split(',').filter(Boolean)) {
        es.addEventListener(name, (e: MessageEvent<string>) => {
          let data: unknown;
          try {
            data = JSON.parse(e.data);
          } catch {
            return;
          }
          current.current.events[name]?.(data);
        });
      }
    };

    setState('connecting');
    connect();
    return () => {
      clearTimeout(timer);
      source?.close();
    };
  }, [url, names]);

  return state;
}
