import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSse, sseParser, type SseEvent } from './sse.ts';

function parse(chunks: readonly string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = sseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return events;
}

const STREAM = 'retry: 3000\n: connected\n\nevent: delta\ndata: {"text":"Hel"}\n\nevent: delta\ndata: {"text":"lo"}\n\nevent: done\ndata: {"ok":true}\n\n';
const EXPECTED = [
  { event: 'delta', data: '{"text":"Hel"}' },
  { event: 'delta', data: '{"text":"lo"}' },
  { event: 'done', data: '{"ok":true}' },
];

test('named events with JSON data; comments and retry are skipped', () => {
  assert.deepEqual(parse([STREAM]), EXPECTED);
});

test('chunk boundaries anywhere give the same events', () => {
  for (let size = 1; size <= 7; size++) {
    const chunks = STREAM.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];
    assert.deepEqual(parse(chunks), EXPECTED, `chunks of ${size}`);
  }
});

test('CR LF, CR and LF line endings, including a CR LF split across chunks', () => {
  assert.deepEqual(parse(['event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\revent: c\ndata: 3\n\n']), [
    { event: 'a', data: '1' },
    { event: 'b', data: '2' },
    { event: 'c', data: '3' },
  ]);
  assert.deepEqual(parse(['data: x\r', '\n\r', '\n']), [{ event: 'message', data: 'x' }]);
});

test('multi-line data, one optional space, fields without a colon, and a leading BOM', () => {
  assert.deepEqual(parse(['\uFEFFdata:first\ndata:  second\ndata\n\n']), [{ event: 'message', data: 'first\n second\n' }]);
  // An event with no data is not dispatched, and its type does not leak into the next one.
  assert.deepEqual(parse(['event: lonely\n\ndata: next\n\n']), [{ event: 'message', data: 'next' }]);
});

test('readSse decodes UTF-8 split inside a character and drops an unterminated last event', async () => {
  const bytes = new TextEncoder().encode('event: delta\ndata: {"text":"Straße — ok"}\n\nevent: delta\ndata: {"text":"cut');
  const split = bytes.indexOf(0xc3) + 1;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, split));
      controller.enqueue(bytes.slice(split));
      controller.close();
    },
  });
  const events: SseEvent[] = [];
  for await (const e of readSse(body)) events.push(e);
  assert.deepEqual(events, [{ event: 'delta', data: '{"text":"Straße — ok"}' }]);
});

test('leaving the loop early cancels the stream', async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode('data: tick\n\n'));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const e of readSse(body)) {
    assert.equal(e.data, 'tick');
    break;
  }
  assert.equal(cancelled, true);
});
