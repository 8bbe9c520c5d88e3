import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Citation } from '../agent/types.ts';
import type { MessageDoc } from './conversations.ts';
import { REMOVED_NOTE, sentencePieces, withoutDocument, withoutSentences } from './redact.ts';

const cite = (n: number, documentId: string, quote: string, documentName = `${documentId}.txt`): Citation => ({ n, chunkId: `${documentId}-0`, documentId, documentName, page: 2, pageLabel: null, quote });

const answer = (over: Partial<MessageDoc>): MessageDoc => ({
  _id: 'm1',
  organisationId: 'o',
  conversationId: 'c',
  role: 'assistant',
  content: '',
  createdAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

describe('an answer losing a deleted document', () => {
  it('an extractive answer loses that document’s passages, name and quote, and keeps the others', () => {
    const a = cite(1, 'gone', 'The zebra42 valve is replaced yearly.', 'zebra42 manual.txt');
    const b = cite(2, 'kept', 'Fire doors stay closed.');
    const content = `From the documents:\n\n1. “${a.quote}” — zebra42 manual.txt › Valves, page 2 [1]\n2. “${b.quote}” — kept.txt [2]`;
    const next = withoutDocument(answer({ mode: 'extractive', content, citations: [a, b], shownChunkIds: ['gone-0', 'kept-0'], transcript: [{ role: 'user', content: a.quote }] }), 'gone')!;
    assert.ok(!next.content.includes('zebra42'), next.content);
    assert.equal(next.content, `From the documents:\n\n1. ${REMOVED_NOTE} [1]\n2. “${b.quote}” — kept.txt [2]`);
    assert.deepEqual(next.citations![0], { n: 1, chunkId: 'gone-0', documentId: 'gone', documentName: null, quote: null, page: null, pageLabel: null, removed: true });
    assert.deepEqual(next.citations![1], b);
    assert.equal(next.transcript, undefined, 'the model call held the passages as sent');
  });

  it('a generated answer loses the sentences that cite it, a run of them as one note', () => {
    const text = 'Replace the zebra42 valve yearly [1]. It sits behind panel B. [1] Fire doors stay closed [2].\nAsk the duty manager.';
    assert.equal(sentencePieces(text).join(''), text);
    assert.equal(withoutSentences(text, new Set([1])), `${REMOVED_NOTE} [1] Fire doors stay closed [2].\nAsk the duty manager.`);
    assert.equal(withoutSentences('Both say so [1, 2].', new Set([2])), `${REMOVED_NOTE} [2]`);
  });

  it('an answer that was shown the document without citing it loses only its transcript', () => {
    const message = answer({ mode: 'generative', content: 'Nothing relevant.', citations: [], shownChunkIds: ['gone-3'], transcript: [{ role: 'user', content: 'passage' }] });
    const next = withoutDocument(message, 'gone')!;
    assert.equal(next.content, 'Nothing relevant.');
    assert.equal(next.transcript, undefined);
    assert.equal(withoutDocument(answer({ content: 'x', citations: [cite(1, 'other', 'q')], shownChunkIds: ['other-0'] }), 'gone'), null);
  });
});
