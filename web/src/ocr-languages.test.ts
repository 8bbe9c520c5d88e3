import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { languageName, ocrChoices } from './ocr-languages.ts';

describe('OCR language choices', () => {
  it('offers the default, each installed language and English with each other one, by name', () => {
    assert.deepEqual(ocrChoices({ default: ['eng'], installed: ['eng', 'fra', 'rus'] }, null), [
      { value: '', label: 'Server default (English)' },
      { value: 'eng', label: 'English' },
      { value: 'fra', label: 'French' },
      { value: 'rus', label: 'Russian' },
      { value: 'eng+fra', label: 'English and French' },
      { value: 'eng+rus', label: 'English and Russian' },
    ]);
  });

  it('keeps a saved combination on offer, and names codes Intl does not know as they are', () => {
    const choices = ocrChoices({ default: ['eng'], installed: ['eng', 'fra', 'rus'] }, ['fra', 'rus']);
    assert.deepEqual(choices.at(-1), { value: 'fra+rus', label: 'French and Russian' });
    assert.equal(languageName('chi_sim'), 'chi_sim');
  });
});
