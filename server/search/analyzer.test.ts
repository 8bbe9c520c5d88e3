import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAnalyzer, normalise } from './analyzer.ts';

describe('analyzer', () => {
  const { analyze, tokens, surfaceForms } = createAnalyzer();

  it('stems English words and drops stop words', () => {
    assert.deepEqual(analyze('The filters were replaced by the technicians'), ['filter', 'replac', 'technician']);
    assert.deepEqual(analyze('Replacing a filter'), ['replac', 'filter']);
    assert.deepEqual(analyze('the of and to'), []);
  });

  it('folds case, compatibility forms and Latin diacritics', () => {
    assert.deepEqual(analyze('Café NAÏVE Straße Œuvre ﬁlter １２３'), ['cafe', 'naiv', 'strass', 'oeuvr', 'filter', '123']);
    assert.equal(normalise('Ångström'), 'angstrom');
  });

  it('keeps non-Latin letters whole, marks included', () => {
    assert.deepEqual(analyze('Замените фильтр й'), ['замените', 'фильтр', 'й']);
    assert.equal(normalise('Ёлка'), 'ёлка');
    assert.deepEqual(analyze('नमस्ते दुनिया'), ['नमस्ते', 'दुनिया']);
    assert.deepEqual(analyze('Ελληνικά'), ['ελληνικά']);
  });

  it('indexes Han and Kana runs as overlapping bigrams', () => {
    assert.deepEqual(analyze('東京都'), ['東京', '京都']);
    assert.deepEqual(analyze('水'), ['水']);
    assert.deepEqual(analyze('pump東京'), ['pump', '東京']);
    // A two-character query term appears among a longer run's terms.
    assert.ok(analyze('東京都の天気').includes(analyze('天気')[0]!));
  });

  it('keeps part numbers, standards and numbers findable in several spellings', () => {
    assert.deepEqual(analyze('M8x1.25'), ['m8x1', '25', 'm8x1.25', 'm8x125']);
    const iso = analyze('ISO-9001');
    for (const query of ['ISO-9001', 'ISO 9001', 'iso9001']) {
      for (const term of analyze(query)) assert.ok(iso.includes(term), `${query}: ${term}`);
    }
    assert.ok(analyze('1,000 hours').includes('1000'));
    assert.deepEqual(analyze('T-cells'), ['t', 'cell']);
  });

  it('handles possessives and apostrophes', () => {
    assert.deepEqual(analyze("the pump's seal, don't"), ['pump', 'seal', 'dont']);
    assert.deepEqual(analyze('the pump’s seal'), ['pump', 'seal']);
  });

  it('reports every word with its surface form', () => {
    assert.deepEqual(tokens('The Filters, ISO-9001.'), [
      { surface: 'The', terms: [] },
      { surface: 'Filters', terms: ['filter'] },
      { surface: 'ISO-9001', terms: ['iso', '9001', 'iso-9001', 'iso9001'] },
    ]);
  });

  it('finds the surface forms that produced query terms', () => {
    const text = 'Filters: replace the FILTER and filters; the filtering pump.';
    assert.deepEqual(surfaceForms(text, new Set(analyze('filter'))), ['Filters', 'FILTER', 'filters', 'filtering']);
    assert.deepEqual(surfaceForms(text, new Set(analyze('valve'))), []);
    assert.deepEqual(surfaceForms('東京都の天気は晴れです。天気予報', new Set(analyze('天気'))), ['天気']);
    assert.deepEqual(surfaceForms('pump東京都', new Set(analyze('pump 京都'))), ['pump', '京都']);
  });

  it('gives the same answer from its memo', () => {
    const text = 'Repeated words repeated WORDS';
    assert.deepEqual(analyze(text), analyze(text));
    assert.deepEqual(analyze(text), ['repeat', 'word', 'repeat', 'word']);
  });
});
