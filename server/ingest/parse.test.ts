import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from './parse.ts';
import { docx, para, testLimits } from './testing.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

describe('parseDocument', () => {
  it('dispatches by content and reports format, MIME type and encoding', async () => {
    const md = await parseDocument({ bytes: bytes('# Notes\n\n- one\n- two\n'), filename: 'notes.txt' }, testLimits());
    assert.deepEqual({ format: md.format, mimeType: md.mimeType, encoding: md.encoding, title: md.title }, {
      format: 'markdown',
      mimeType: 'text/markdown',
      encoding: 'utf-8',
      title: 'Notes',
    });
    const word = await parseDocument({ bytes: docx(para('Hello Word')), filename: 'x.bin' }, testLimits());
    assert.equal(word.format, 'docx');
    assert.deepEqual(word.blocks, [{ kind: 'paragraph', text: 'Hello Word' }]);
    assert.equal(word.encoding, undefined);
  });

  it('checks maxBytes before parsing and maxTextChars while extracting', async () => {
    await assert.rejects(parseDocument({ bytes: bytes('x'.repeat(2000)), filename: 'a.txt' }, testLimits({ maxBytes: 1000 })), {
      code: 'too_large',
      message: 'The file is 2,000 bytes; the limit is 1,000',
    });
    const long = Array.from({ length: 500 }, (_, i) => `Paragraph number ${i} of a long file.`).join('\n\n');
    await assert.rejects(parseDocument({ bytes: bytes(long), filename: 'a.txt' }, testLimits({ maxTextChars: 5000 })), { code: 'too_large' });
  });

  it('enforces the deadline cooperatively on the injected clock', async () => {
    let now = 0;
    const clock = () => (now += 3000); // the run checks the clock every 256 blocks
    const long = Array.from({ length: 600 }, (_, i) => `Paragraph ${i}.`).join('\n\n');
    await assert.rejects(parseDocument({ bytes: bytes(long), filename: 'a.txt' }, testLimits({ timeoutMs: 5000 }), { now: clock }), {
      code: 'timeout',
    });
  });

  it('stops when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const long = Array.from({ length: 600 }, (_, i) => `Paragraph ${i}.`).join('\n\n');
    await assert.rejects(parseDocument({ bytes: bytes(long), filename: 'a.txt' }, testLimits(), { signal: controller.signal }), { name: 'AbortError' });
  });

  it('needs OCR for images', async () => {
    await assert.rejects(parseDocument({ bytes: PNG, filename: 'scan.png' }, testLimits()), { code: 'no_text', message: /OCR is turned off/ });
    await assert.rejects(parseDocument({ bytes: PNG, filename: 'scan.png' }, testLimits({ ocr: true })), {
      code: 'no_text',
      message: /OCR is not available/,
    });
  });

  it('fails empty documents with no_text', async () => {
    await assert.rejects(parseDocument({ bytes: bytes('   \n\n  \t\n'), filename: 'blank.txt' }, testLimits()), { code: 'no_text' });
    await assert.rejects(parseDocument({ bytes: bytes('<html><body><script>x()</script></body></html>'), filename: 'a.html' }, testLimits()), {
      code: 'no_text',
    });
  });
});
