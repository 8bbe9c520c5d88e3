import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDrawingInstructions } from './gibberish.ts';
import { parseDocument } from './parse.ts';
import { testLimits, textPagesPdf as pagesPdf } from './testing.ts';
import { IngestError } from './types.ts';

const OPERATORS = 'Tj /A 1 Tf 0.1 0 0 -0.1 497.4 612.3 Tm (x) Tj ET q 1 0 0 1 72 720 cm BT /F2 9 Tf 0 0 Td 0.5 g /GS1 gs Q 12 0 0 12 0 0 cm BT ET';
const PROSE = 'Rub hands with an alcohol-based rub for twenty seconds before and after every patient contact, and after touching any surface near the patient.';

describe('text that is not language', () => {
  it('tells drawing instructions from prose and from tables of figures', () => {
    assert.equal(isDrawingInstructions(OPERATORS), true);
    assert.equal(isDrawingInstructions(PROSE), false);
    assert.equal(isDrawingInstructions('2019 12.5 13.0 14.2 15.1 2020 16.3 17.0 18.4 19.9 2021 20.2 21.7 22.0 23.5'), false, 'numbers alone are a table');
    assert.equal(isDrawingInstructions('Tj Tf'), false, 'too little to judge');
  });

  it('ends a PDF whose only text is drawing instructions no_text, saying why', async () => {
    await assert.rejects(
      parseDocument({ bytes: pagesPdf([OPERATORS, OPERATORS]), filename: 'fuzzed.pdf' }, testLimits({ ocr: false })),
      (err: unknown) => err instanceof IngestError && err.code === 'no_text' && /not language: it reads like PDF drawing instructions/.test(err.message),
    );
  });

  it('leaves out the pages that hold drawing instructions and keeps the rest, with a warning', async () => {
    const parsed = await parseDocument({ bytes: pagesPdf([PROSE, OPERATORS, PROSE]), filename: 'mixed.pdf' }, testLimits({ ocr: false }));
    assert.deepEqual([...new Set(parsed.blocks.map((b) => b.page))], [1, 3]);
    assert.ok(parsed.blocks.every((b) => !b.text.includes(' Tf ')));
    assert.deepEqual(parsed.warnings, ['1 of 3 pages held PDF drawing instructions instead of text and was left out']);
  });
});
