import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import iconv from 'iconv-lite';
import { decodeText, detectBomlessUtf16, StreamDecoder, utf8Prefix } from './decode.ts';
import { needsShared, sharedFile } from './testing.ts';

const encode = (text: string, encoding: string) => new Uint8Array(iconv.encode(text, encoding));

describe('decodeText', () => {
  it('honours byte-order marks', () => {
    assert.deepEqual(decodeText(encode('\ufeffgrüße', 'utf-8')), { text: 'grüße', encoding: 'utf-8' });
    assert.deepEqual(decodeText(encode('\ufeffgrüße', 'utf-16le')), { text: 'grüße', encoding: 'utf-16le' });
    assert.deepEqual(decodeText(encode('\ufeffgrüße', 'utf-16be')), { text: 'grüße', encoding: 'utf-16be' });
  });

  it('recognises UTF-16 without a BOM by its zero bytes', () => {
    const bytes = encode('Plain English text in UTF-16 without any byte order mark.', 'utf-16le');
    assert.equal(detectBomlessUtf16(bytes), 'utf-16le');
    assert.equal(decodeText(bytes).text, 'Plain English text in UTF-16 without any byte order mark.');
  });

  it('prefers valid UTF-8 over detection', () => {
    assert.deepEqual(decodeText(encode('naïve café — 東京', 'utf-8')), { text: 'naïve café — 東京', encoding: 'utf-8' });
  });

  // Detection needs a realistic amount of text; these are ordinary sentences in each language.
  const samples: Array<[string, string, string]> = [
    ['shift_jis', 'shift_jis', '日本語のテキストです。東京は今日も晴れています。明日は雨が降るでしょう。'],
    ['euc-jp', 'euc-jp', '日本語のテキストです。東京は今日も晴れています。明日は雨が降るでしょう。'],
    ['gb18030', 'gb18030', '中华人民共和国是一个国家，这是一段中文文本。今天天气很好，我们去公园散步吧。'],
    ['big5', 'big5', '中華民國是一個國家，這是一段繁體中文文本。今天天氣很好，我們去公園散步吧。'],
    ['koi8-r', 'koi8-r', 'Привет, мир! Это тестовый документ на русском языке. Сегодня хорошая погода.'],
    ['iso-8859-5', 'iso-8859-5', 'Привет, мир! Это тестовый документ на русском языке. Сегодня хорошая погода.'],
    ['windows-1252', 'windows-1252', 'Die schöne Frau hat einen Kaffee gegessen. L’été était très chaud, 15,50 €.'],
  ];
  for (const [encoding, expected, text] of samples) {
    it(`detects and round-trips ${encoding}`, () => {
      const decoded = decodeText(encode(text, encoding));
      assert.equal(decoded.encoding, expected);
      assert.equal(decoded.text, text);
    });
  }

  it('uses a declared charset, except a UTF-8 claim the bytes contradict', () => {
    const latin = encode('Größe', 'windows-1252');
    assert.deepEqual(decodeText(latin, { declared: 'ISO-8859-1' }), { text: 'Größe', encoding: 'windows-1252' });
    assert.equal(decodeText(encode('Größe und Gewicht der Ware', 'windows-1252'), { declared: 'utf-8' }).text, 'Größe und Gewicht der Ware');
    assert.equal(decodeText(encode('Привет', 'koi8-r'), { declared: 'koi8-r' }).text, 'Привет');
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the UTF-16LE file with a BOM', () => {
      const { text, encoding } = decodeText(sharedFile('text/utf16le-bom.txt'));
      assert.equal(encoding, 'utf-16le');
      assert.match(text, /^This is a test document to use for unit tests\./);
      assert.match(text, /Hamburgers are delicious/);
    });

    it('reads the Windows-1252 Dutch text, including its ellipsis', () => {
      const { text, encoding } = decodeText(sharedFile('text/dutch-anna-karenina-cp1252.txt'));
      assert.equal(encoding, 'windows-1252');
      assert.match(text, /dat zij al…\. Ach, het moest alles zoo komen!/);
      assert.match(text, /Stipan Arkadiewitsch was tegenover zich zelf tamelijk oprecht/);
    });

    it('reads the Latin-1 Markdown umlauts', () => {
      const { text, encoding } = decodeText(sharedFile('markdown/umlauts-latin1.md'));
      assert.equal(encoding, 'windows-1252');
      assert.equal(text, '## können\n\nkönnen\n\näöüß\n');
    });
  });
});

/** Decodes `bytes` fed in pieces of `size` bytes, with the encoding decided on the first `head` bytes. */
function streamed(bytes: Uint8Array, size: number, head = bytes.length): { text: string; encoding: string } {
  const decoder = new StreamDecoder(bytes.subarray(0, head));
  let text = '';
  for (let at = 0; at < bytes.length; at += size) text += decoder.write(bytes.subarray(at, at + size));
  return { text: text + decoder.end(), encoding: decoder.encoding };
}

describe('StreamDecoder', () => {
  it('joins a multi-byte UTF-8 character split between pieces', () => {
    const text = 'naïve café — 東京 🦆 and more';
    for (const size of [1, 2, 3, 5]) assert.deepEqual(streamed(encode(text, 'utf-8'), size), { text, encoding: 'utf-8' }, `pieces of ${size}`);
  });

  it('drops a BOM split between pieces and joins UTF-16 code units and surrogate pairs', () => {
    const text = 'grüße 🦆 Ente';
    assert.deepEqual(streamed(encode(`\ufeff${text}`, 'utf-16le'), 1), { text, encoding: 'utf-16le' });
    assert.deepEqual(streamed(encode(`\ufeff${text}`, 'utf-16be'), 3), { text, encoding: 'utf-16be' });
    assert.deepEqual(streamed(encode(`\ufeff${text}`, 'utf-8'), 1), { text, encoding: 'utf-8' });
  });

  it('decides a legacy encoding on the first bytes and reads the rest in it', () => {
    const text = 'Die schöne Frau hat einen Kaffee getrunken. L’été était très chaud, 15,50 €. '.repeat(200);
    const bytes = encode(text, 'windows-1252');
    assert.deepEqual(streamed(bytes, 1000, 512), { text, encoding: 'windows-1252' });
  });

  it('reads on in the detected legacy encoding where text decided as UTF-8 stops being UTF-8', () => {
    const ascii = 'Plain ASCII to begin with, as the head of the file. '.repeat(40);
    const latin = 'Größe und Gewicht der Ware, schön verpackt.';
    const bytes = new Uint8Array([...encode(ascii, 'utf-8'), ...encode(latin, 'windows-1252')]);
    const { text, encoding } = streamed(bytes, 700, 1024);
    assert.equal(text, ascii + latin);
    assert.equal(encoding, 'windows-1252');
  });

  it('turns a character the file cuts short into U+FFFD', () => {
    const bytes = encode('Ende: 東', 'utf-8').subarray(0, -1);
    assert.deepEqual(streamed(bytes, 4), { text: 'Ende: \ufffd', encoding: 'utf-8' });
  });

  it('agrees with strict UTF-8 decoding on where valid bytes end', () => {
    let seed = 11;
    const byte = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      // Mostly the bytes that make up multi-byte sequences, so every kind of error turns up.
      return [0x41, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xa0, 0x9f, 0x90, 0x8f][seed % 15] as number;
    };
    // Strict decoding with `stream` tolerates a character cut short at the end, and nothing else.
    const strict = (bytes: Uint8Array, stream: boolean) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream });
        return true;
      } catch {
        return false;
      }
    };
    for (let n = 0; n < 5000; n++) {
      const bytes = new Uint8Array(Array.from({ length: 1 + (n % 9) }, byte));
      const { valid, cutShort } = utf8Prefix(bytes);
      const what = `[${bytes.join(',')}] valid ${valid}${cutShort ? ', cut short' : ''}`;
      assert.ok(strict(bytes.subarray(0, valid), false), what);
      if (valid === bytes.length) assert.ok(strict(bytes, false), what);
      else if (cutShort) assert.ok(strict(bytes, true) && !strict(bytes, false), what);
      else assert.ok(!strict(bytes, true), what);
    }
  });
});
