import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteSource } from '../source.ts';
import { brief, needsShared, runParser, sharedFile, testRun } from '../testing.ts';
import { MAX_RUN_CHARS, parseText } from './text.ts';

const parse = (input: string | Uint8Array) => runParser(parseText, input);

describe('parseText', () => {
  it('splits paragraphs on blank lines and re-joins hard-wrapped lines', async () => {
    const { blocks } = await parse('First paragraph that was\nwrapped at a narrow width.\r\n\r\nSecond one.\n\n\n\nThird.');
    assert.deepEqual(brief(blocks), ['paragraph: First paragraph that was wrapped at a narrow width.', 'paragraph: Second one.', 'paragraph: Third.']);
  });

  it('recognises underlined and ALL-CAPS headings', async () => {
    const { blocks } = await parse('Main Title\n==========\n\nSection\n-------\n\nCHAPTER ONE\n\nNOT A HEADING, IT ENDS WITH A COMMA,\n\nI\n\nbody');
    assert.deepEqual(brief(blocks), [
      'heading1: Main Title',
      'heading2: Section',
      'heading1: CHAPTER ONE',
      'paragraph: NOT A HEADING, IT ENDS WITH A COMMA,',
      'paragraph: I',
      'paragraph: body',
    ]);
  });

  it('reads bulleted and numbered lines as list items, indentation as depth', async () => {
    const { blocks } = await parse('Shopping:\n- eggs\n  that are fresh\n    * free range\n- milk\n1) one\n2. two\nAfterwards text.');
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

  it('treats each long unwrapped line as its own paragraph', async () => {
    const long = (word: string) => `${word} `.repeat(40).trim();
    const { blocks } = await parse(`${long('alpha')}\n${long('beta')}`);
    assert.equal(blocks.length, 2);
  });

  it('reads text fed in pieces as it reads it whole, CRLFs and characters split between pieces included', async () => {
    const text = 'Title\r\n=====\r\n\r\nGrüße aus 東京, wrapped\r\nover lines.\r\n\r\n- one\r\n- two\r\n';
    const bytes = new TextEncoder().encode(text);
    const whole = await parse(bytes);
    for (const size of [1, 2, 3, 7]) {
      const run = testRun();
      const pieces = async function* () {
        for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
      };
      await parseText(new ByteSource({ filename: 'a.txt', size: bytes.length, stream: async () => pieces() }), run);
      assert.deepEqual(run.blocks, whole.blocks, `pieces of ${size}`);
    }
    assert.deepEqual(brief(whole.blocks), ['heading1: Title', 'paragraph: Grüße aus 東京, wrapped over lines.', 'list-item0: one', 'list-item0: two']);
  });

  it('stops reading once the text passes the limit, with too_large naming it', async () => {
    const piece = new TextEncoder().encode('word '.repeat(64 * 1024 / 5));
    let read = 0;
    const pieces = async function* () {
      for (let i = 0; i < 1600; i++, read++) yield piece; // 100 MB, no line break at all
    };
    const source = new ByteSource({ filename: 'a.txt', size: 1600 * piece.length, stream: async () => pieces() });
    await assert.rejects(parseText(source, testRun({ maxTextChars: 2_000_000 })), {
      code: 'too_large',
      message: 'The document contains more than 2,000,000 characters of text',
    });
    assert.ok(read < 60, `read ${read} of 1600 pieces`);
  });

  it('cuts a run of text with no blank line into blocks, at a space', async () => {
    const { blocks } = await parse(`${'word '.repeat(MAX_RUN_CHARS / 2)}\n\n${'line\n'.repeat(100)}`);
    assert.equal(blocks.length, 4);
    for (const block of blocks.slice(0, 3)) assert.ok(block.text.length <= MAX_RUN_CHARS && /^word( word)*$/.test(block.text), 'no block over the run length, no word cut');
    assert.equal(blocks[3]?.text, 'line '.repeat(100).trim());
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the UTF-16LE file', async () => {
      const { blocks, encoding } = await parse(sharedFile('text/utf16le-bom.txt'));
      assert.equal(encoding, 'utf-16le');
      assert.deepEqual(brief(blocks).slice(2), [
        'paragraph: Important points:',
        'list-item0: Hamburgers are delicious',
        'list-item0: Dogs are the best',
        'list-item0: I love fuzzy blankets',
      ]);
    });

    it('reads the Windows-1252 Dutch novel', async () => {
      const { blocks, encoding } = await parse(sharedFile('text/dutch-anna-karenina-cp1252.txt'));
      assert.equal(encoding, 'windows-1252');
      assert.equal(blocks.length, 9);
      assert.ok(blocks.some((b) => b.text.includes('dat zij al…. Ach, het moest alles zoo komen!')));
    });

    it('reads the War and Peace excerpt', async () => {
      const { blocks, encoding } = await parse(sharedFile('text/war-and-peace-excerpt.txt'));
      assert.equal(encoding, 'utf-8');
      assert.deepEqual(blocks[0], { kind: 'heading', text: 'CHAPTER I', level: 1 });
      assert.match(blocks[1]?.text ?? '', /^"Well, Prince, so Genoa and Lucca are now just family estates of the Buonapartes\./);
    });
  });
});
