import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldTerms } from './postings.ts';
import { Shard, type QueryTerm } from './shard.ts';

const chunkId = (i: number): string => `c${String(i).padStart(5, '0')}`;

/** A shard of `size` chunks whose words follow a Zipf-like law, as real text does. */
function zipfShard(size: number, seed: number) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = Array.from({ length: 400 }, (_, i) => `w${i}`);
  const word = () => words[Math.min(words.length - 1, Math.floor(1 / (random() + 0.0025)) - 1)]!;
  const shard = new Shard(1, 'org', 'kb');
  const terms = new Map<string, { body: Uint32Array; name: Uint32Array }>();
  for (let i = 0; i < size; i++) {
    const intern = (terms: string[]) => {
      const field = fieldTerms(terms);
      return { ids: shard.dictionary.intern(field.terms, []), tfs: field.tfs, length: field.length };
    };
    const body = intern(Array.from({ length: 5 + Math.floor(random() * 60) }, word));
    const name = intern([`name${i % 40}`]);
    shard.add({ id: chunkId(i), documentId: `d${i % 40}`, body, name, vector: undefined });
    terms.set(chunkId(i), { body: body.ids, name: name.ids });
  }
  /** Removes chunk `i` as the engine does, with the term numbers it was indexed with. */
  const remove = (i: number) => shard.release(shard.remove(chunkId(i), `d${i % 40}`, terms.get(chunkId(i))!));
  return { shard, words, random, remove };
}

describe('Shard keyword ranking', () => {
  it('prunes to exactly the exhaustive top k: same chunks, same scores, same order', () => {
    const { shard, words, random, remove } = zipfShard(3000, 11);
    // Some removals, so dead postings sit in the lists being galloped through.
    for (let i = 0; i < 3000; i += 7) remove(i);
    let pruned = 0;
    for (let q = 0; q < 300; q++) {
      const query: QueryTerm[] = Array.from({ length: 1 + Math.floor(random() * 8) }, () => ({
        term: words[Math.floor(random() ** 2 * words.length)]!,
        weight: 1 + Math.floor(random() * 2),
      })).filter((t, i, all) => all.findIndex((u) => u.term === t.term) === i);
      const k = [1, 3, 10, 25][q % 4]!;
      const only = q % 3 === 0 ? new Set([3, 5, 8, 13, 21]) : null;
      const accept = (doc: number) => only === null || only.has(shard.documentSlot(doc));
      const exhaustive = shard.keyword(query, shard.liveCount, accept).slice(0, k);
      const top = shard.keyword(query, k, accept);
      assert.deepEqual(top, exhaustive, `query ${JSON.stringify(query)}, k ${k}`);
      if (top.length === k) pruned++;
    }
    assert.ok(pruned > 100);
  });

  it('stays exact after chunks are removed and their lists compacted', () => {
    const { shard, remove } = zipfShard(1000, 5);
    for (let i = 0; i < 1000; i += 2) remove(i);
    assert.equal(shard.liveCount, 500);
    const query = [{ term: 'w0', weight: 1 }, { term: 'w5', weight: 1 }, { term: 'w40', weight: 1 }];
    const all = shard.keyword(query, shard.liveCount, () => true);
    assert.ok(all.every((c) => Number(shard.chunkId(c.doc).slice(1)) % 2 === 1), 'only live chunks');
    assert.deepEqual(shard.keyword(query, 5, () => true), all.slice(0, 5));
  });
});
