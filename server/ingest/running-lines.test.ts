import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsShared, sharedFile, testLimits } from './testing.ts';
import { parseDocument } from './parse.ts';
import { withoutRunningLines } from './running-lines.ts';
import type { Block } from './types.ts';

const p = (text: string, page: number): Block => ({ kind: 'paragraph', text, page });
const h = (text: string, page: number): Block => ({ kind: 'heading', text, level: 1, page });

describe('running headers and footers', () => {
  it('removes numbered lines repeated at a page edge, section-name footers, page numbers and blank-page notices', () => {
    const blocks = [
      h('Hand hygiene', 1), p('Rub for twenty seconds.', 1), p('1', 1),
      p('2 Infection Control Manual for Wards', 2), p('Before every patient contact.', 2), p('Hand hygiene 3', 2),
      p('Infection Control Manual for Wards 3', 3), p('After body fluid exposure.', 3), p('3', 3),
      p('4 Infection Control Manual for Wards', 4), p('This page intentionally left blank', 4), p('4', 4),
    ];
    assert.deepEqual(withoutRunningLines(blocks).blocks.map((b) => b.text), ['Hand hygiene', 'Rub for twenty seconds.', 'Before every patient contact.', 'After body fluid exposure.']);
  });

  it('keeps real headings numbered in sequence, numbers inside text, and lines that repeat only once', () => {
    const blocks = [
      h('Step 1', 1), p('Wet hands.', 1), h('Step 2', 2), p('Apply soap.', 2),
      p('Table 3 lists the volumes.', 3), p('12 ml for gel', 3), p('Dosage chart 4', 4),
    ];
    assert.deepEqual(withoutRunningLines(blocks).blocks, blocks);
  });

  it('takes the running footers out of the shared breast cancer guide, and only them', { skip: needsShared }, async () => {
    const parsed = await parseDocument({ bytes: sharedFile('pdf/cancer-council-understanding-breast-cancer-76p.pdf'), filename: 'guide.pdf' }, testLimits({ ocr: false }));
    const texts = parsed.blocks.map((b) => b.text);
    for (const footer of ['What is cancer? 5', 'The breasts 7', 'Treatment 27', 'Glossary 71']) assert.ok(!texts.includes(footer), footer);
    for (const heading of ['What is cancer?', 'The breasts', 'Glossary']) assert.ok(texts.includes(heading), heading);
  });
});
