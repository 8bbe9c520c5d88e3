import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIsolated } from './isolate.ts';
import { needsShared, sharedFile, testLimits } from './testing.ts';
import type { ParseStage } from './types.ts';

const text = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

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
