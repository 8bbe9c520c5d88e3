import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openParser, parseIsolated } from './isolate.ts';
import { docx, needsShared, para, sharedFile, testLimits } from './testing.ts';
import { IngestError, type ParseInput, type ParseLimits, type ParseStage } from './types.ts';

const text = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** Markdown that takes micromark a while (~0.1 s per 200 sections on the dev box). */
const longMarkdown = (sections: number) =>
  text(Array.from({ length: sections }, (_, i) => `## Section ${i}\n\nParagraph ${i} with *some* text and a [link](https://example.org/${i}).\n`).join('\n'));
const small = (n: number) => ({ bytes: text(`Document ${n}.`), filename: `${n}.txt` });
const noProgress = () => undefined;
const never = new AbortController().signal;

describe('parseIsolated', () => {
  it('parses in a worker and returns the document', async () => {
    const doc = await parseIsolated({ bytes: text('# Title\n\nHello from a worker.\n'), filename: 'a.md' }, testLimits());
    assert.equal(doc.format, 'markdown');
    assert.equal(doc.mimeType, 'text/markdown');
    assert.equal(doc.encoding, 'utf-8');
    assert.deepEqual(doc.blocks, [
      { kind: 'heading', text: 'Title', level: 1 },
      { kind: 'paragraph', text: 'Hello from a worker.' },
    ]);
  });

  it('transfers a buffer the caller owns whole, and copies a shared one', async () => {
    const owned = text('owned bytes');
    await parseIsolated({ bytes: owned, filename: 'a.txt' }, testLimits());
    assert.equal(owned.buffer.byteLength, 0, 'transferred, not copied');
    const pooled = Buffer.from('pooled bytes'); // a view into Node's shared allocation pool
    const doc = await parseIsolated({ bytes: pooled, filename: 'b.txt' }, testLimits());
    assert.equal(doc.blocks[0]?.text, 'pooled bytes');
    assert.equal(pooled.toString(), 'pooled bytes', 'the caller’s pool is left intact');
  });

  it('rejects oversized input before starting a worker', async () => {
    await assert.rejects(parseIsolated({ bytes: text('x'.repeat(100)), filename: 'a.txt' }, testLimits({ maxBytes: 10 })), {
      code: 'too_large',
    });
  });

  it('passes parser failures through with their codes', async () => {
    await assert.rejects(parseIsolated({ bytes: new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]), filename: 'a.txt' }, testLimits()), {
      name: 'IngestError',
      code: 'unsupported_type',
      retryable: false,
    });
  });

  describe('with shared documents', { skip: needsShared }, () => {
    it('forwards progress and keeps the main thread responsive', async () => {
      const stages: Array<[ParseStage, number]> = [];
      let ticks = 0;
      let worstLag = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worstLag = Math.max(worstLag, now - last - 10);
        last = now;
        ticks++;
      }, 10);
      try {
        const doc = await parseIsolated(
          { bytes: sharedFile('pdf/ibm-redpaper-redp5110-db2-rcac-sampled-18p.pdf'), filename: 'r.pdf' },
          testLimits(),
          (stage, fraction) => stages.push([stage, fraction]),
        );
        assert.equal(doc.pages?.length, 18);
      } finally {
        clearInterval(timer);
      }
      assert.ok(stages.length >= 18, `one progress report per page at least, got ${stages.length}`);
      assert.ok(stages.every(([stage]) => stage === 'parsing'));
      assert.deepEqual(stages.at(-1), ['parsing', 1]);
      assert.ok(stages.every(([, f], i) => i === 0 || f >= (stages[i - 1]?.[1] ?? 0)), 'progress never goes backwards');
      assert.ok(ticks > 5, 'timers kept firing during the parse');
      assert.ok(worstLag < 250, `event loop blocked for ${Math.round(worstLag)} ms`);
    });

    it('terminates the worker when the caller aborts', async () => {
      const controller = new AbortController();
      const started = performance.now();
      const parsing = parseIsolated(
        { bytes: sharedFile('pdf/cancer-council-understanding-breast-cancer-76p.pdf'), filename: 'g.pdf' },
        testLimits(),
        undefined,
        controller.signal,
      );
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(parsing, { name: 'AbortError' });
      assert.ok(performance.now() - started < 1000, 'abort is immediate');
      const aborted = AbortSignal.abort();
      await assert.rejects(parseIsolated({ bytes: text('x'), filename: 'x.txt' }, testLimits(), undefined, aborted), { name: 'AbortError' });
    });
  });
});

describe('openParser (the pool)', () => {
  const parseWith = (parser: ReturnType<typeof openParser>, input: ParseInput, limits: Partial<ParseLimits> = {}, signal = never) =>
    parser.parse(input, testLimits(limits), noProgress, signal);

  it('reuses one worker for document after document', async () => {
    const parser = openParser({ concurrency: 1 });
    try {
      assert.deepEqual(parser.workers(), [], 'no worker before the first document');
      assert.equal((await parseWith(parser, small(1))).blocks[0]?.text, 'Document 1.');
      const [first] = parser.workers();
      assert.equal((await parseWith(parser, { bytes: text('# Two\n'), filename: '2.md' })).blocks[0]?.text, 'Two');
      await assert.rejects(parseWith(parser, { bytes: new Uint8Array([0, 1, 2, 3]), filename: 'x.bin' }), { code: 'unsupported_type' });
      assert.equal((await parseWith(parser, small(3))).blocks[0]?.text, 'Document 3.');
      assert.deepEqual(parser.workers(), [{ threadId: first?.threadId, documents: 4, busy: false }], 'an ordinary failure does not cost the worker');
    } finally {
      await parser.close();
    }
  });

  it('runs at most `concurrency` documents at once and queues the rest', async () => {
    const parser = openParser({ concurrency: 2 });
    try {
      const seen = new Set<number>();
      const parsing = [1, 2, 3, 4, 5, 6].map((n) =>
        parseWith(parser, { bytes: longMarkdown(100), filename: `${n}.md` }).then((doc) => {
          for (const w of parser.workers()) seen.add(w.threadId);
          return doc;
        }),
      );
      const started = parser.workers();
      assert.equal(started.length, 2);
      assert.ok(started.every((w) => w.busy));
      assert.equal((await Promise.all(parsing)).length, 6);
      assert.equal(seen.size, 2, 'the same two workers took all six');
      assert.equal(parser.workers().reduce((n, w) => n + w.documents, 0), 6);
    } finally {
      await parser.close();
    }
  });

  it('terminates a worker that runs past the timeout; a fresh one parses the next document', async () => {
    const parser = openParser({ concurrency: 1 });
    try {
      await parseWith(parser, small(1)); // started and warm, so the timeout falls inside the parse
      const [warm] = parser.workers();
      const started = performance.now();
      await assert.rejects(parseWith(parser, { bytes: longMarkdown(5000), filename: 'slow.md' }, { timeoutMs: 100 }), { name: 'IngestError', code: 'timeout' });
      assert.ok(performance.now() - started < 1000, 'the worker is cut off, not waited for');
      assert.ok(!parser.workers().some((w) => w.threadId === warm?.threadId), 'the timed-out worker is gone');
      assert.equal((await parseWith(parser, small(2))).blocks[0]?.text, 'Document 2.');
      assert.equal(parser.workers().length, 1);
    } finally {
      await parser.close();
    }
  });

  it('replaces a worker that ran out of memory', async () => {
    const parser = openParser({ concurrency: 1 });
    try {
      const big = text(`<html><body>${'<p>Duck paragraph.</p>'.repeat(300_000)}</body></html>`);
      const parsing = parseWith(parser, { bytes: big, filename: 'big.html' }, { maxMemoryMb: 32 });
      const [failing] = parser.workers();
      await assert.rejects(parsing, { code: 'out_of_memory', message: /32 MB memory limit/ });
      assert.equal((await parseWith(parser, small(2), { maxMemoryMb: 32 })).blocks[0]?.text, 'Document 2.');
      assert.ok(!parser.workers().some((w) => w.threadId === failing?.threadId));
    } finally {
      await parser.close();
    }
  });

  it('terminates the worker when its document is aborted, and drops an aborted document that was still waiting', async () => {
    const parser = openParser({ concurrency: 1 });
    try {
      const running = new AbortController();
      const first = parseWith(parser, { bytes: longMarkdown(2000), filename: 'a.md' }, {}, running.signal);
      const [busy] = parser.workers();
      const waiting = new AbortController();
      const second = parseWith(parser, small(2), {}, waiting.signal);
      waiting.abort();
      await assert.rejects(second, { name: 'AbortError' });
      assert.deepEqual(parser.workers(), [{ threadId: busy?.threadId, documents: 1, busy: true }], 'the waiting document never reached a worker');
      running.abort();
      await assert.rejects(first, { name: 'AbortError' });
      assert.ok(!parser.workers().some((w) => w.threadId === busy?.threadId));
      assert.equal((await parseWith(parser, small(3))).blocks[0]?.text, 'Document 3.');
    } finally {
      await parser.close();
    }
  });

  it('retires a worker after maxDocumentsPerWorker documents, or when a document leaves its heap large', async () => {
    const parser = openParser({ concurrency: 1, maxDocumentsPerWorker: 2 });
    const threads: number[] = [];
    try {
      for (const n of [1, 2, 3]) {
        const parsing = parseWith(parser, small(n));
        threads.push(parser.workers()[0]?.threadId ?? -1);
        await parsing;
      }
      assert.equal(threads[0], threads[1]);
      assert.notEqual(threads[1], threads[2]);
    } finally {
      await parser.close();
    }
    const heapBound = openParser({ concurrency: 1, recycleHeapMb: 0 });
    try {
      await parseWith(heapBound, small(1));
      const [replacement] = heapBound.workers();
      assert.equal(replacement?.documents, 0, 'already replaced, by a worker started ahead of the next document');
      const parsing = parseWith(heapBound, small(2));
      assert.equal(heapBound.workers()[0]?.threadId, replacement?.threadId);
      await parsing;
    } finally {
      await heapBound.close();
    }
  });

  it('gives documents with another memory limit a worker started with that limit', async () => {
    const parser = openParser({ concurrency: 1 });
    try {
      await parseWith(parser, small(1), { maxMemoryMb: 256 });
      const [first] = parser.workers();
      await parseWith(parser, small(2), { maxMemoryMb: 128 });
      const [second] = parser.workers();
      assert.notEqual(second?.threadId, first?.threadId);
      assert.equal(parser.workers().length, 1);
    } finally {
      await parser.close();
    }
  });

  it('ends idle workers after idleMs', async () => {
    const parser = openParser({ concurrency: 1, idleMs: 50 });
    try {
      await parseWith(parser, small(1));
      assert.equal(parser.workers().length, 1);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(parser.workers(), []);
      assert.equal((await parseWith(parser, small(2))).blocks[0]?.text, 'Document 2.', 'a new one starts for the next document');
    } finally {
      await parser.close();
    }
  });

  describe('a streamed file', () => {
    /** `bytes` as a stream of `size`-byte pieces that records how much was read and whether it was closed. */
    const streamOf = (bytes: Uint8Array, size = 4096, fail?: Error) => {
      const seen = { read: 0, closed: false, opened: 0 };
      const input: ParseInput = {
        filename: 'streamed',
        size: bytes.length,
        stream: async () => {
          seen.opened++;
          return (async function* () {
            try {
              for (let at = 0; at < bytes.length; at += size) {
                if (fail && at >= bytes.length / 2) throw fail;
                seen.read += Math.min(size, bytes.length - at);
                yield bytes.slice(at, at + size);
              }
            } finally {
              seen.closed = true;
            }
          })();
        },
      };
      return { input, seen };
    };

    it('is fed to the worker as it reads, for text a piece at a time and whole for a DOCX', async () => {
      const parser = openParser({ concurrency: 1 });
      try {
        const plain = streamOf(text(`Grüße aus 東京.\n\n${'Another paragraph of the streamed text.\n\n'.repeat(20_000)}`), 1000);
        const doc = await parseWith(parser, plain.input);
        assert.equal(doc.blocks.length, 20_001);
        assert.equal(doc.blocks[0]?.text, 'Grüße aus 東京.');
        assert.deepEqual(plain.seen, { read: plain.input.size, closed: true, opened: 1 });
        const word = streamOf(docx(para('Hello Word')), 100);
        assert.deepEqual((await parseWith(parser, word.input)).blocks, [{ kind: 'paragraph', text: 'Hello Word' }]);
        assert.equal(word.seen.closed, true);
      } finally {
        await parser.close();
      }
    });

    it('stops being read, and is closed, when the text passes its limit', async () => {
      const parser = openParser({ concurrency: 1 });
      try {
        const { input, seen } = streamOf(text('A line of text that never ends '.repeat(1_000_000)), 64 * 1024);
        await assert.rejects(parseWith(parser, input, { maxTextChars: 2_000_000 }), { code: 'too_large' });
        await sleep(50);
        assert.ok(seen.read < 8 * 1024 * 1024, `read ${seen.read} of ${input.size} bytes`);
        assert.equal(seen.closed, true);
      } finally {
        await parser.close();
      }
    });

    it('fails with the error reading it threw, and is not opened when its size is over the limit', async () => {
      const parser = openParser({ concurrency: 1 });
      try {
        const broken = new Error('EIO: i/o error, read');
        const { input, seen } = streamOf(text('Some text. '.repeat(400_000)), 64 * 1024, broken);
        await assert.rejects(parseWith(parser, input), (error) => error === broken);
        assert.equal(seen.closed, true);
        const huge = streamOf(text('x'.repeat(2000)));
        await assert.rejects(parseWith(parser, huge.input, { maxBytes: 1000 }), { code: 'too_large', message: 'The file is 2,000 bytes; the limit is 1,000' });
        assert.equal(huge.seen.opened, 0);
      } finally {
        await parser.close();
      }
    });
  });

  it('close() ends every worker and rejects running and waiting documents as retryable', async () => {
    const parser = openParser({ concurrency: 1 });
    const running = parseWith(parser, { bytes: longMarkdown(2000), filename: 'a.md' });
    const waiting = parseWith(parser, small(2));
    const closed = parser.close();
    const shutDown = (error: unknown) => error instanceof IngestError && error.code === 'internal' && error.retryable && /shut down/.test(error.message);
    await assert.rejects(running, shutDown);
    await assert.rejects(waiting, shutDown);
    await closed;
    assert.deepEqual(parser.workers(), []);
    await assert.rejects(parseWith(parser, small(3)), shutDown);
  });
});
