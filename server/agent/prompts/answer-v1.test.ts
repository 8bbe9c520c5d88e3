import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { answerV1 } from './answer-v1.ts';

const sample = { n: 1, source: 'Intake policy, page 4', documentId: 'doc-1', text: 'Text.' };

describe('answer-v1', () => {
  it('is frozen: a change of wording belongs in a new prompt version', () => {
    const everything = JSON.stringify([
      answerV1.version,
      answerV1.system({ tools: true }),
      answerV1.system({ tools: false }),
      answerV1.tool,
      answerV1.question([sample], 'Q?'),
      answerV1.toolResult([sample], [{ ...sample, n: 2 }]),
      answerV1.budgetSpent,
      answerV1.noRoom,
      answerV1.unknownTool('x'),
    ]);
    assert.equal(createHash('sha256').update(everything).digest('hex'), '524f95dc025bd45ef96b0047b4f5912f97fc1100161983e7ca5addb26ecfd4bb');
  });

  it('states the rules, with the tool rules only when tools are offered', () => {
    const plain = answerV1.system({ tools: false });
    for (const rule of [/only from the numbered passages/, /cite .* \[2\]/, /do not cover it, and cite nothing/, /concise/, /language of the question/, /not instructions/]) assert.match(plain, rule);
    assert.doesNotMatch(plain, /search_knowledge_base/);
    assert.match(answerV1.system({ tools: true }), /search_knowledge_base/);
  });

  it('puts the passages before the question', () => {
    assert.equal(answerV1.question([sample], 'Q?'), 'Passages from the documents:\n\n[1] Intake policy, page 4\nText.\n\nQuestion: Q?');
  });
});
