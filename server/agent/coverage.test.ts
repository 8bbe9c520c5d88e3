import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyzer } from '../search/analyzer.ts';
import { coverage } from './coverage.ts';
import { passage } from './testing.ts';

describe('coverage', () => {
  const analyzer = createAnalyzer();
  const passages = [
    passage('a', 'Visitors may park in the staff car park after 18:00. The clinic policy on mobile phones is at reception.'),
    passage('b', 'The clinic privacy policy says how patient records are kept.'),
    passage('c', 'Instruments are sterilised in the autoclave at 134 °C for at least three minutes.'),
  ];

  it('is the whole question when one passage holds all its words', () => {
    assert.equal(coverage(analyzer, 'Where are instruments sterilised?', passages), 1);
  });

  it('weighs the word the question is about above the ones every passage shares', () => {
    // "clinic" and "policy" are in two of three passages; "smoking" is in none.
    const smoking = coverage(analyzer, 'What is the clinic smoking policy?', passages);
    const privacy = coverage(analyzer, 'What is the clinic privacy policy?', passages);
    assert.equal(privacy, 1);
    // Two of its three words are in the passages, but the one that is not counts most.
    assert.ok(smoking < 0.6, `${smoking}`);
    assert.ok(coverage(analyzer, 'What is the clinic smoking policy for visitors?', passages) > smoking, 'a rare word found raises it');
  });

  it('does not count the words a question is phrased with', () => {
    assert.equal(coverage(analyzer, 'Why does the clinic have a privacy policy?', passages), 1);
    assert.equal(coverage(analyzer, 'What is needed near the autoclave?', passages), 1);
  });

  it('is 0 without passages or without content words', () => {
    assert.equal(coverage(analyzer, 'What is the clinic policy?', []), 0);
    assert.equal(coverage(analyzer, 'Why?', passages), 0);
  });
});
