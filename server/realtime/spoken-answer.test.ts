import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerCharacters, bestSentences, clip, SpokenAnswer } from './spoken-answer.ts';

const EXTRACTIVE = `No language model is available, so here are the most relevant passages from your documents:

1. “… Screening looks for cancer before symptoms appear. Both women and men can develop breast cancer, although it is rare in men. Most breast cancers are found in women over 50.” — guide.pdf, page 8 [1]
2. “The lymph nodes filter lymph fluid. They are found throughout the body.” — guide.pdf, page 12 [2]`;

describe('spoken answers', () => {
  it('an extractive answer is said as the sentence that answers the question, with its citation', () => {
    assert.deepEqual(bestSentences(EXTRACTIVE, 'Who can develop breast cancer?', 300), [
      'Both women and men can develop breast cancer, although it is rare in men. [1]',
      'Most breast cancers are found in women over 50. [1]',
    ]);
    assert.deepEqual(bestSentences(EXTRACTIVE, 'Who can develop breast cancer?', 80), ['Both women and men can develop breast cancer, although it is rare in men. [1]']);
    assert.deepEqual(bestSentences(EXTRACTIVE, 'Who can develop breast cancer?', 50), ['Both women and men can develop breast cancer… [1]']);
    assert.deepEqual(bestSentences('No passage in your documents matches this question.', 'Who?', 300), []);
  });

  it('holds what the first delta completes until the kind of answer is known', () => {
    const extractive = new SpokenAnswer('Who can develop breast cancer?', 300);
    assert.deepEqual(extractive.written(['No language model is available, so here are the most relevant passages from your documents:', '1.']), []);
    const said = extractive.finished({ answer: EXTRACTIVE, mode: 'extractive' }, []);
    assert.equal(said.length, 2);
    assert.deepEqual([...extractive.cited], [1]);
    // Nothing quoted (the documents do not cover it): the answer is said as written.
    const none = new SpokenAnswer('Who?', 300);
    assert.deepEqual(none.written(['No passage matches.']), []);
    assert.deepEqual(none.finished({ answer: 'No passage matches.', mode: 'extractive' }, []), ['No passage matches.']);
  });

  it('a generative answer is said from its start as it streams, until the next sentence would pass the budget', () => {
    const spoken = new SpokenAnswer('q', 60);
    assert.deepEqual(spoken.written([]), []);
    assert.deepEqual(spoken.written(['Change the filter every three months [1].']), ['Change the filter every three months [1].']);
    assert.deepEqual(spoken.written(['Rinse it first.', 'Then dry it for a whole day in the sun before refitting it [2].']), ['Rinse it first.']);
    assert.deepEqual(spoken.finished({ answer: '', mode: 'generative' }, ['Short.']), []);
    assert.deepEqual([...spoken.cited], [1]);
    // A first sentence longer than the budget is cut at a clause.
    const long = new SpokenAnswer('q', 40);
    long.written([]);
    assert.deepEqual(long.written(['The filter, which sits behind the front panel, is changed every three months.']), ['The filter, which sits behind the…']);
  });

  it('seconds become characters at 15 a second, 3 s kept for the source', () => {
    assert.equal(answerCharacters(20), 255);
    assert.equal(answerCharacters(5), 60);
    assert.equal(clip('one two three', 9), 'one two…');
  });
});
