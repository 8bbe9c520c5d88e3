import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DocumentTextDoc } from './documents.ts';
import { joinTextParts, textParts } from './text-parts.ts';

const block = (i: number, chars: number) => ({ kind: 'paragraph' as const, text: String(i % 10).repeat(chars), start: i * (chars + 2), end: i * (chars + 2) + chars });

describe('text parts', () => {
  const whole: DocumentTextDoc = { _id: 'doc1', organisationId: 'org', kbId: 'kb', pages: [{ number: 1, label: null } as never], blocks: Array.from({ length: 40 }, (_, i) => block(i, 100_000)) };

  it('stores a long text in parts of whole blocks, the first under the document id with its pages', () => {
    const parts = textParts(whole);
    assert.equal(parts.length, 8);
    assert.deepEqual(parts.map((p) => p._id).slice(0, 3), ['doc1', 'doc1~1', 'doc1~2']);
    assert.ok(parts.every((p, i) => p.documentId === 'doc1' && p.part === i && p.blocks.length === 5));
    assert.deepEqual([parts[0]!.pages, parts[1]!.pages], [whole.pages, null]);
  });

  it('joins the parts again in order, whatever order they are read in', () => {
    const [first, ...rest] = textParts(whole);
    assert.deepEqual(joinTextParts(first!, rest.reverse()), whole);
  });

  it('reads a text stored before parts existed as it was', () => {
    const old = { ...whole, blocks: whole.blocks.slice(0, 2) };
    assert.deepEqual(joinTextParts(old, []), old);
    assert.deepEqual(textParts({ ...whole, blocks: [] }).map((p) => p.blocks.length), [0]);
  });
});
