import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeCompleteness, type Completeness } from './turn-completeness.ts';

// As a streaming recogniser gives them (lower case, no punctuation) unless punctuation is the point.
const table: Array<[string, Completeness]> = [
  // Whole questions and statements.
  ['when is the clinic open on saturday', 'complete'],
  ['how much does a late cancellation cost', 'complete'],
  ['what do new patients bring', 'complete'],
  ['who can develop breast cancer', 'complete'],
  ['is the clinic open on sundays', 'complete'],
  ['can i book an appointment by phone', 'complete'],
  ['the child almost hurt the small dog', 'complete'],
  ['sunday is the best part of the week', 'complete'],
  ['ask what you can do for your country', 'complete'],
  ['thank you', 'complete'],
  ['yes', 'complete'],
  ['What are the side effects?', 'complete'],
  ['Tell me about radiation therapy.', 'complete'],
  // Trailing off mid-sentence.
  ['what is the dose of', 'incomplete'],
  ['i would like to know about the', 'incomplete'],
  ['when is the clinic open and', 'incomplete'],
  ['how much does it cost if', 'incomplete'],
  ['tell me about um', 'incomplete'],
  ['the opening hours are uh', 'incomplete'],
  ['i want to book an appointment for', 'incomplete'],
  ['can you tell me what a', 'incomplete'],
  ['what is', 'incomplete'],
  ['how do', 'incomplete'],
  ['the problem is', 'incomplete'],
  ['i was wondering if you know', 'incomplete'],
  ['it is kind of', 'incomplete'],
  ['so', 'incomplete'],
  ['and then i', 'incomplete'],
  ['the symptoms are very', 'incomplete'],
  ['unless a system is established for the frequent formal review of activities thereunder in this regard,', 'incomplete'],
  ['The treatment options include surgery, radiation and…', 'incomplete'],
  ['if i cancel late', 'incomplete'],
  ['when i take the tablets', 'incomplete'],
  ['unless a system is established', 'incomplete'],
  ['if i cancel late do i have to pay', 'complete'],
  ['where is the pharmacy', 'complete'],
  // Nothing to judge, or the words cannot tell.
  ['', 'unknown'],
  ['a a a a a', 'unknown'],
  ['what is this medicine used for', 'unknown'],
  ['what is it made of', 'unknown'],
];

describe('judgeCompleteness', () => {
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} is ${expected}`, () => {
      const { verdict, reason } = judgeCompleteness(text);
      assert.equal(verdict, expected, reason);
    });
  }
});
