import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyzer } from '../search/analyzer.ts';
import { approxTokens } from '../../test/fixtures/scripted-engine.ts';
import { condenseHistory, isFollowUp, MESSAGE_OVERHEAD, searchQuery, truncateTokens } from './condense.ts';
import type { HistoryTurn } from './types.ts';

const analyzer = createAnalyzer();
const countTokens = approxTokens;
const user = (content: string): HistoryTurn => ({ role: 'user', content });
const assistant = (content: string): HistoryTurn => ({ role: 'assistant', content });
const tokensOf = (messages: { content: string }[]) => messages.reduce((n, m) => n + countTokens(m.content) + MESSAGE_OVERHEAD, 0);

function conversation(exchanges: number): HistoryTurn[] {
  return Array.from({ length: exchanges }, (_, i) => [
    user(`Question ${i + 1} about the procedure for topic ${i + 1}?`),
    assistant(`Answer ${i + 1}: the procedure is described in section ${i + 1} [1]. ${'It involves several careful steps that staff must follow. '.repeat(4)}`),
  ]).flat();
}

describe('truncateTokens', () => {
  it('keeps a text that fits, and cuts one that does not at a boundary with an ellipsis', () => {
    assert.equal(truncateTokens('Short text.', 10, countTokens), 'Short text.');
    const text = 'The first sentence is here. The second sentence is a little longer than that. The third one rambles on for a while.';
    const cut = truncateTokens(text, 20, countTokens);
    assert.ok(countTokens(cut) <= 20, cut);
    assert.equal(cut, 'The first sentence is here. The second sentence is a little longer than that. …');
    assert.equal(truncateTokens(text, 12, countTokens), 'The first sentence is here. …');
    assert.equal(truncateTokens('Words without any sentence end, going on and on and on.', 6, countTokens), 'Words without any…');
    assert.equal(truncateTokens('oneverylongwordwithoutspaces', 2, countTokens), '');
  });
});

describe('condenseHistory', () => {
  it('is empty without history', () => {
    assert.deepEqual(condenseHistory([], { budget: 600, countTokens }), []);
  });

  it('keeps the latest exchange verbatim, cuts older ones, and strips citation markers', () => {
    const long = `${'Details about filters and their schedule. '.repeat(20)}End [2].`;
    const messages = condenseHistory([user('Old question?'), assistant(long), user('New question?'), assistant(long)], { budget: 2000, countTokens, olderTurnTokens: 40 });
    assert.deepEqual(
      messages.map((m) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    assert.ok(messages[1]!.content.endsWith('…') && countTokens(messages[1]!.content) <= 40);
    assert.equal(messages[3]!.content, long.replace(' [2]', '').trim());
  });

  it('leaves out unanswered questions so roles alternate', () => {
    const messages = condenseHistory([user('Failed question?'), user('Asked again?'), assistant('Answered.'), assistant('Stray.'), user('Cancelled?')], { budget: 600, countTokens });
    assert.deepEqual(messages, [
      { role: 'user', content: 'Asked again?' },
      { role: 'assistant', content: 'Answered.' },
    ]);
  });

  it('stays within the budget, cutting even the latest exchange if it must', () => {
    const history = [user('Q? '.repeat(100)), assistant('A. '.repeat(400))];
    const messages = condenseHistory(history, { budget: 200, countTokens });
    assert.equal(messages.length, 2);
    assert.ok(tokensOf(messages) <= 200, `${tokensOf(messages)} tokens`);
    for (let n = 1; n <= 20; n++) assert.ok(tokensOf(condenseHistory(conversation(n), { budget: 600, countTokens })) <= 600);
  });

  it('grows only at the end, and drops old exchanges in jumps, so requests share their prefix', () => {
    let previous = condenseHistory(conversation(1), { budget: 600, countTokens });
    let jumps = 0;
    for (let n = 2; n <= 20; n++) {
      const current = condenseHistory(conversation(n), { budget: 600, countTokens });
      // Everything before the previous latest exchange (which gets cut now) is repeated as is.
      const stable = previous.slice(0, -2);
      if (JSON.stringify(current.slice(0, stable.length)) !== JSON.stringify(stable)) {
        jumps++;
        assert.ok(tokensOf(current) <= 600);
      }
      assert.equal(current.at(-2)!.content, `Question ${n} about the procedure for topic ${n}?`);
      previous = current;
    }
    // Each exchange costs about 90 tokens cut, 110 whole: a jump to half the budget buys about 3 turns.
    assert.ok(jumps >= 3 && jumps <= 7, `${jumps} jumps in 19 turns`);
  });
});

describe('follow-up questions', () => {
  const history = [user('How often are the air filters replaced?'), assistant('Every three months [1].')];

  it('recognises follow-ups by their few words, openings and pronouns', () => {
    assert.equal(isFollowUp(analyzer, 'And who does it?'), true);
    assert.equal(isFollowUp(analyzer, 'How often?'), true);
    assert.equal(isFollowUp(analyzer, 'Where is it logged?'), true);
    assert.equal(isFollowUp(analyzer, 'What documents does a new patient need to register at the front desk?'), false);
  });

  it('adds the recent questions to the search query of a follow-up only', () => {
    assert.equal(searchQuery(analyzer, 'Who does it?', history), 'Who does it? How often are the air filters replaced?');
    assert.equal(searchQuery(analyzer, 'What does a new patient need to register at the front desk?', history), 'What does a new patient need to register at the front desk?');
    assert.equal(searchQuery(analyzer, 'Who does it?', []), 'Who does it?');
  });

  it('borrows at most two earlier questions, newest first', () => {
    const long = [user('Tell me about filters.'), assistant('Ok.'), user('Which rooms?'), assistant('Ok.'), user('When?'), assistant('Ok.')];
    assert.equal(searchQuery(analyzer, 'And then?', long), 'And then? When? Which rooms?');
  });
});
