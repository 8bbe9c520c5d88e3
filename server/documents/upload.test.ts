import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanFileName } from './upload.ts';

describe('cleanFileName', () => {
  it('keeps any language exactly, composed', () => {
    assert.equal(cleanFileName('Café – Übersicht 日本語.txt'), 'Café – Übersicht 日本語.txt');
    assert.equal(cleanFileName('Cafe\u0301.txt'), 'Café.txt');
  });

  it('drops paths, controls and the marks that reorder what is shown', () => {
    assert.equal(cleanFileName('C:\\Users\\x\\..\\secret.pdf'), 'secret.pdf');
    assert.equal(cleanFileName('../../etc/passwd'), 'passwd');
    assert.equal(cleanFileName('invoice\u202Egpj.exe'), 'invoicegpj.exe');
    assert.equal(cleanFileName('a\u0000b\u2066c\u200fd.txt'), 'abcd.txt');
  });

  it('repairs lone surrogates and bounds the length without splitting a character', () => {
    assert.equal(cleanFileName('bad\uD800name.txt'), 'bad\uFFFDname.txt');
    const long = cleanFileName('😀'.repeat(300));
    assert.equal([...long].length, 255);
    assert.equal(long, long.toWellFormed());
    assert.equal(cleanFileName(' \u202E '), 'untitled');
  });
});
