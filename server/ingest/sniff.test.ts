import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import iconv from 'iconv-lite';
import { sniff } from './sniff.ts';
import { docx, zip } from './testing.ts';
import { IngestError } from './types.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const format = (data: Uint8Array, name = 'upload') => sniff(data, name).format;
const refused = (data: Uint8Array, name: string, code: string, message?: RegExp) =>
  assert.throws(() => sniff(data, name), (error: unknown) => {
    assert.ok(error instanceof IngestError);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });

describe('sniff', () => {
  it('goes by content, not by the file name', () => {
    assert.deepEqual(sniff(bytes('%PDF-1.7\n%âãÏÓ\n1 0 obj'), 'notes.txt'), { format: 'pdf', mimeType: 'application/pdf' });
    assert.equal(format(docx('<w:p/>'), 'report.pdf'), 'docx');
    assert.equal(format(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'a.txt'), 'image');
    assert.equal(sniff(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]), 'x').mimeType, 'image/jpeg');
  });

  it('accepts only Word documents among ZIP containers', () => {
    refused(zip([{ name: 'a.txt', data: 'hello' }]), 'a.docx', 'unsupported_type', /ZIP archives/);
    refused(zip([{ name: '[Content_Types].xml', data: '<Types/>' }, { name: 'xl/workbook.xml', data: '<w/>' }]), 'a.xlsx', 'unsupported_type', /Spreadsheets/);
    refused(bytes('PK\u0003\u0004 truncated local header and nothing else'), 'a.docx', 'corrupt');
  });

  it('refuses legacy Office files with advice, and recognises encrypted Office packages', () => {
    const ole = new Uint8Array(1024);
    ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    refused(ole, 'old.doc', 'unsupported_type', /save the file as DOCX or PDF/);
    ole.set(iconv.encode('EncryptedPackage', 'utf-16le'), 512);
    refused(ole, 'secret.docx', 'encrypted');
  });

  it('never lets the extension make binary data text', () => {
    const binary = new Uint8Array(512).map((_, i) => (i * 37) % 256);
    refused(binary, 'notes.txt', 'unsupported_type', /binary/);
    refused(bytes('GIF89a\u0001\u0000'), 'x.md', 'unsupported_type', /PNG and JPEG/);
    refused(bytes('{\\rtf1\\ansi hello}'), 'x.txt', 'unsupported_type', /RTF/);
    refused(new Uint8Array(0), 'empty.txt', 'no_text');
    refused(bytes('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), 'logo.txt', 'unsupported_type', /SVG/);
    refused(bytes('<svg viewBox="0 0 1 1"></svg>'), 'logo.svg', 'unsupported_type', /SVG/);
  });

  it('recognises XML by its declaration, DOCTYPE, a JATS article, or an XML name, and JATS among it', () => {
    assert.equal(format(bytes('<?xml version="1.0"?><rss><channel/></rss>'), 'feed.txt'), 'xml');
    assert.equal(format(bytes('<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving DTD//EN" "x.dtd"><article><body/></article>'), 'a.txt'), 'xml');
    assert.equal(sniff(bytes('<article><front><article-meta/></front></article>'), 'pmc1.txt').mimeType, 'application/jats+xml');
    assert.equal(sniff(bytes('<?xml version="1.0"?><rss/>'), 'f.xml').mimeType, 'application/xml');
    assert.equal(format(bytes('<records><r>1</r></records>'), 'export.xml'), 'xml');
    assert.equal(format(bytes('<records><r>1</r></records>'), 'export.txt'), 'text', 'tags alone, in a file that says nothing of XML, stay text');
  });

  it('recognises HTML after a BOM, whitespace, comments or an XML declaration', () => {
    assert.equal(format(bytes('\ufeff  \n<!DOCTYPE html><title>x</title>')), 'html');
    assert.equal(format(bytes('<!-- saved page -->\n<html lang="en"><body>hi</body></html>')), 'html');
    assert.equal(format(bytes('<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>')), 'html');
    assert.equal(format(bytes('\n<head><meta charset="utf-8"></head>')), 'html');
    // A fragment is HTML only when the name says so; otherwise it is text that mentions tags.
    assert.equal(format(bytes('<div><p>Hello</p></div>'), 'frag.html'), 'html');
    assert.equal(format(bytes('<div><p>Hello</p></div>'), 'frag.txt'), 'text');
  });

  it('tells Markdown from plain text by structure, with the extension as tie-breaker', () => {
    assert.equal(format(bytes('# Title\n\nSome text.\n\n## Part\n\nMore.\n')), 'markdown');
    assert.equal(format(bytes('Intro\n\n```js\nlet x = 1;\n```\n')), 'markdown');
    assert.equal(format(bytes('| a | b |\n|---|---|\n| 1 | 2 |\n')), 'markdown');
    assert.equal(format(bytes('Dear Anna,\n\nsee you on Monday.\n')), 'text');
    assert.equal(format(bytes('Dear Anna,\n\nsee you on Monday.\n'), 'letter.md'), 'markdown');
    assert.equal(format(bytes('# of items: 3\nTotal: 5\n')), 'text');
  });

  it('treats UTF-16 text as text despite its NUL bytes', () => {
    const utf16 = new Uint8Array(iconv.encode('\ufeff# Heading\n\n- one\n- two\n', 'utf-16le'));
    assert.equal(format(utf16), 'markdown');
    assert.equal(format(new Uint8Array(iconv.encode('Just some words in a plain file', 'utf-16be'))), 'text');
  });
});
