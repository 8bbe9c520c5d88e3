import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedFields } from './changes.ts';

describe('changedFields', () => {
  it('names each changed field, and within a section each changed leaf', () => {
    assert.deepEqual(
      changedFields(
        { name: 'Policies', settings: { chunkSize: 350, retrievalMode: 'hybrid', embeddingModel: null, deep: { a: 1 } }, tags: ['a'] },
        { name: 'Policies', settings: { chunkSize: 500, retrievalMode: 'hybrid', embeddingModel: 'm', deep: { a: 2 } }, tags: ['a', 'b'] },
      ),
      { settings: 'chunkSize 350 → 500, embeddingModel null → m, deep.a 1 → 2', tags: '["a"] → ["a","b"]' },
    );
  });

  it('has no dotted keys, which the store refuses', () => {
    assert.ok(Object.keys(changedFields({ s: { a: { b: 1 } } }, { s: { a: { b: 2 } } })).every((k) => !k.includes('.')));
  });

  it('reports nothing when nothing changed, and fields that appear or go', () => {
    assert.deepEqual(changedFields({ a: { b: 1 } }, { a: { b: 1 } }), {});
    assert.deepEqual(changedFields({ a: 1 }, { b: 2 }), { a: '1 → unset', b: 'unset → 2' });
  });

  it('shortens long values', () => {
    const [change] = Object.values(changedFields({ d: '' }, { d: 'x'.repeat(500) }));
    assert.ok(change && change.length < 130);
  });
});
