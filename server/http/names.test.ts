import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayName, displayText } from './names.ts';

describe('display names', () => {
  const name = displayName(20);
  for (const hidden of ['invoice\u202Egpj.exe', 'nul\u0000byte', 'lone \uD800 surrogate', 'iso\u2066late', 'c1\u0085control', 'tab\there']) {
    it(`refuses ${JSON.stringify(hidden)}`, () => assert.equal(name.safeParse(hidden).success, false));
  }
  it('keeps real-world names, trimmed and composed', () => {
    assert.equal(name.parse('  Café 日本語  '), 'Café 日本語');
    assert.equal(name.parse('Cafe\u0301'), 'Café');
    assert.equal(name.parse('שלום עולם'), 'שלום עולם');
  });
  it('lets descriptions keep their line breaks but not their overrides', () => {
    const text = displayText(100);
    assert.equal(text.parse('line one\nline two\ttabbed'), 'line one\nline two\ttabbed');
    assert.equal(text.safeParse('x\u202Ey').success, false);
  });
});
