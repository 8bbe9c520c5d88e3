import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Citation } from '../agent/types.ts';
import { createSentenceSplitter, heardText, speakable, spokenDocumentName, spokenSources } from './speakable.ts';

const cite = (n: number, documentId: string, documentName: string, page: number | null, pageLabel: string | null = null): Citation => ({ n, chunkId: `c${n}`, documentId, documentName, page, pageLabel, quote: '' });

describe('speakable text', () => {
  it('drops citation markers and markdown a voice would read out', () => {
    assert.equal(speakable('Remove the **chuck key** first [1][2].'), 'Remove the chuck key first.');
    assert.equal(speakable('## Steps\n- Stop the `lathe`\n1. Clear [swarf](http://x) with a brush [3]'), 'Steps Stop the lathe Clear swarf with a brush');
    assert.equal(speakable('[1]'), '');
  });

  it('names documents and their cited pages briefly, two documents at most', () => {
    assert.equal(spokenDocumentName('intake-policy_v2.pdf'), 'intake policy v2');
    assert.equal(spokenSources([]), null);
    assert.equal(spokenSources([cite(1, 'a', 'intake-policy.pdf', 4)]), 'From intake policy, page 4.');
    assert.equal(spokenSources([cite(2, 'a', 'intake-policy.pdf', 7), cite(1, 'a', 'intake-policy.pdf', 4, 'iv')]), 'From intake policy, pages iv and 7.');
    assert.equal(spokenSources([cite(1, 'a', 'a.pdf', 1), cite(2, 'b', 'b.md', null), cite(3, 'c', 'c.pdf', 2)]), 'From a, page 1, and b, and 1 more.');
  });
});

describe('heard text', () => {
  const sentences = [
    { text: 'Remove the chuck key first [1].', startMs: 0, endMs: 1_000 },
    { text: 'Then wear eye protection near rotating parts [2].', startMs: 1_000, endMs: 3_000 },
  ];
  it('keeps whole sentences that played, and the heard words of the one cut off', () => {
    assert.equal(heardText(sentences, 0), '');
    assert.equal(heardText(sentences, 1_000), 'Remove the chuck key first [1].');
    assert.equal(heardText(sentences, 1_500), 'Remove the chuck key first [1]. Then wear…');
    assert.equal(heardText(sentences, 10_000), 'Remove the chuck key first [1]. Then wear eye protection near rotating parts [2].');
  });
});

describe('sentence splitter', () => {
  it('yields sentences as their ends arrive, keeping citation markers with them', () => {
    const s = createSentenceSplitter();
    assert.deepEqual(s.push('Remove the chuck'), []);
    assert.deepEqual(s.push(' key first.[1] Wear eye'), ['Remove the chuck key first.[1]']);
    assert.deepEqual(s.push(' protection! Is that all? Yes'), ['Wear eye protection!', 'Is that all?']);
    assert.deepEqual(s.flush(), ['Yes']);
    assert.deepEqual(s.flush(), []);
  });

  it('does not split decimals and cuts run-on text at a word boundary', () => {
    const s = createSentenceSplitter();
    assert.deepEqual(s.push('Version 2.5 is current'), []);
    const long = s.push(' word'.repeat(100));
    assert.equal(long.length, 1);
    assert.ok((long[0]?.length ?? 0) <= 400 && long[0]?.endsWith('word'));
  });
});
