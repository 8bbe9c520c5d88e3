// Server-sent events over any byte stream. EventSource can only GET, and asking a question is a
// POST whose response is the event stream, so the console reads it with fetch and parses it here,
// following the WHATWG "event stream interpretation" rules.

export interface SseEvent {
  /** The `event:` field, or "message" when there was none. */
  event: string;
  data: string;
}

export interface SseParser {
  /** Feeds decoded text; events are emitted as soon as their terminating blank line arrives. */
  push(text: string): void;
}

/** An incremental parser: chunks may split lines, fields and even a CR LF pair anywhere. */
export function sseParser(onEvent: (event: SseEvent) => void): SseParser {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let started = false;
  // A chunk that ended in CR may continue with the LF of the same line break.
  let skipLf = false;

  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n') });
      data = [];
      event = '';
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    // `id` and `retry` only matter to reconnecting clients; an answer is never resumed.
  };

  return {
    push(text) {
      if (!started && text !== '') {
        started = true;
        if (text.startsWith('\uFEFF')) text = text.slice(1);
      }
      if (skipLf && text.startsWith('\n')) text = text.slice(1);
      skipLf = false;
      buffer += text;
      const breaks = /\r\n|\r|\n/g;
      let from = 0;
      for (let m = breaks.exec(buffer); m; m = breaks.exec(buffer)) {
        line(buffer.slice(from, m.index));
        from = m.index + m[0].length;
        if (m[0] === '\r' && from === buffer.length) skipLf = true;
      }
      buffer = buffer.slice(from);
    },
  };
}

/**
 * The events of a response body, in order. An event still unterminated when the stream ends is
 * dropped, as the standard says: it may be cut off.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  const parser = sseParser((e) => queue.push(e));
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      parser.push(done ? decoder.decode() : decoder.decode(value, { stream: true }));
      yield* queue.splice(0);
      if (done) return;
    }
  } finally {
    // Stopping early (break, an error, an abort) must release the connection.
    reader.cancel().catch(() => undefined);
  }
}
