import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brief, needsShared, runParser, sharedFile } from '../testing.ts';
import { parseText } from './text.ts';

const parse = (input: string | Uint8Array) => runParser(parseText, input);

describe('parseText', () => {
  it('splits paragraphs on blank lines and re-joins hard-wrapped lines', () => {
    const { blocks } = parse('First paragraph that was\nwrapped at a narrow width.\r\n\r\nSecond one.\n\n\n\nThird.');
    assert.deepEqual(brief(blocks), ['paragraph: First paragraph that was wrapped at a narrow width.', 'paragraph: Second one.', 'paragraph: Third.']);
  });

  it('recognises underlined and ALL-CAPS headings', () => {
    const { blocks } = parse('Main Title\n==========\n\nSection\n-------\n\nCHAPTER ONE\n\nNOT A HEADING, IT ENDS WITH A COMMA,\n\nI\n\nbody');
    assert.deepEqual(brief(blocks), [
      'heading1: Main Title',
      'heading2: Section',
      'heading1: CHAPTER ONE',
      'paragraph: NOT A HEADING, IT ENDS WITH A COMMA,',
      'paragraph: I',
      'paragraph: body',
    ]);
  });

  it('reads bulleted and numbered lines as list items, indentation as depth', () => {
    const { blocks } = parse('Shopping:\n- eggs\n  that are fresh\n    * free range\n- milk\n1) one\n2. two\nAfterwards text.');
    assert.deepEqual(brief(blocks), [
      'paragraph: Shopping:',
      'list-item0: eggs that are fresh',
      'list-item1: free range',
      'list-item0: milk',
      'list-item0: one',
      'list-item0: two',
      'paragraph: Afterwards text.',
    ]);
  });

  it('treats each long unwrapped line as its own paragraph', () => {
    const long = (word: string) => `${word} `.repeat(40).trim();
    const { blocks } = parse(`${long('alpha')}\n${long('beta')}`);
    assert.equal(blocks.length, 2);
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the UTF-16LE file', () => {
      const { blocks, encoding } = parse(sharedFile('text/utf16le-bom.txt'));
      assert.equal(encoding, 'utf-16le');
      assert.deepEqual(brief(blocks).slice(2), [
        'paragraph: Important points:',
        'list-item0: Hamburgers are delicious',
        'list-item0: Dogs are the best',
        'list-item0: I love fuzzy blankets',
      ]);
    });

    it('reads the Windows-1252 Dutch novel', () => {
      const { blocks, encoding } = parse(sharedFile('text/dutch-anna-karenina-cp1252.txt'));
      assert.equal(encoding, 'windows-1252');
      assert.equal(blocks.length, 9);
      assert.ok(blocks.some((b) => b.text.includes('dat zij al…. Ach, het moest alles zoo komen!')));
    });

    it('reads the War and Peace excerpt', () => {
      const { blocks, encoding } = parse(sharedFile('text/war-and-peace-excerpt.txt'));
      assert.equal(encoding, 'utf-8');
      assert.deepEqual(blocks[0], { kind: 'heading', text: 'CHAPTER I', level: 1 });
      assert.match(blocks[1]?.text ?? '', /^"Well, Prince, so Genoa and Lucca are now just family estates of the Buonapartes\./);
    });
  });
});
