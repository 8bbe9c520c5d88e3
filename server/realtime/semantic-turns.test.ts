import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EAGERNESS_SETTINGS, pauseDecision } from './semantic-turns.ts';
import { judgeCompleteness } from './turn-completeness.ts';

const decide = (words: string, turnProbability: number | null, eagerness: 'low' | 'medium' | 'high' | 'auto' = 'auto') => pauseDecision({ text: judgeCompleteness(words), turnProbability }, eagerness, 600).waitMs;

test('a pause ends the turn at once, waits longer, or waits silence_duration_ms', () => {
  const { medium, high, low } = EAGERNESS_SETTINGS;
  // Words alone.
  assert.equal(decide('When is the clinic open on Saturday?', null), 0, 'the recogniser\'s question mark');
  assert.equal(decide('when is the clinic open on saturday', null), medium.wordsMs, 'words alone may go on');
  assert.equal(decide('when is the clinic open on saturday', null, 'high'), 0);
  assert.equal(decide('what is the dose of', null), medium.incompleteMs);
  assert.equal(decide('', null), 600, 'nothing to judge: the fixed timeout');
  // The turn model alone.
  assert.equal(decide('', 0.95), 0);
  assert.equal(decide('', 0.6), medium.incompleteMs, 'below medium\'s threshold');
  assert.equal(decide('', 0.6, 'high'), 0, 'above high\'s');
  assert.equal(decide('', 0.85, 'low'), low.incompleteMs, 'below low\'s');
  // Both: a hanging word outweighs the sound; finished words with an unfinished sound wait the fixed timeout.
  assert.equal(decide('tell me about the', 0.99), medium.incompleteMs);
  assert.equal(decide('when is the clinic open', 0.1), 600);
  assert.equal(decide('tell me about um', 0.99, 'high'), high.incompleteMs);
});
