// Decides the format from the bytes. The file name only breaks ties between text-like formats
// (markdown vs plain text, HTML fragments); it never turns binary data into text, and a PDF
// named "notes.txt" is still a PDF.

import { decodeText, detectBom, detectBomlessUtf16 } from './decode.ts';
import { IngestError, type DocumentFormat } from './types.ts';
import { readZipDirectory } from './zip.ts';

export interface Sniffed {
  format: DocumentFormat;
  mimeType: string;
}

const SAMPLE = 64 * 1024;

function startsWith(bytes: Uint8Array, signature: number[], at = 0): boolean {
  return signature.every((byte, i) => bytes[at + i] === byte);
}

function ascii(bytes: Uint8Array, length: number): string {
  return new TextDecoder('latin1').decode(bytes.subarray(0, length));
}

const unsupported = (message: string) => new IngestError('unsupported_type', message);

/** Known binary containers we do not read, with advice the user can act on. */
function refuseKnownBinary(bytes: Uint8Array): void {
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    // Word stores password-protected DOCX files inside this same compound-file container.
    const utf16 = new TextDecoder('utf-16le').decode(bytes.subarray(0, Math.min(bytes.length, 1 << 20)));
    if (utf16.includes('EncryptedPackage')) {
      throw new IngestError('encrypted', 'This Office document is password-protected; remove the password and upload it again');
    }
    throw unsupported('Legacy Microsoft Office files (.doc, .xls, .ppt) are not supported; save the file as DOCX or PDF and upload that');
  }
  const head = ascii(bytes, 16);
  if (head.startsWith('{\\rtf')) throw unsupported('RTF files are not supported; save the file as DOCX or PDF');
  if (/^GIF8[79]a/.test(head) || (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') || /^(II\*\0|MM\0\*)/.test(head)) {
    throw unsupported('Only PNG and JPEG images are supported');
  }
}

function sniffZip(bytes: Uint8Array): Sniffed {
  const names = new Set(readZipDirectory(bytes).map((entry) => entry.name));
  if (names.has('[Content_Types].xml') && names.has('word/document.xml')) {
    return { format: 'docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' };
  }
  if (names.has('xl/workbook.xml') || names.has('ppt/presentation.xml')) {
    throw unsupported('Spreadsheets and presentations are not supported; export them as PDF');
  }
  if (names.has('mimetype') && names.has('content.xml')) {
    throw unsupported('OpenDocument files are not supported; save the file as DOCX or PDF');
  }
  throw unsupported('ZIP archives are not supported; upload the documents inside it one by one');
}

/** NULs or a noticeable share of control characters mean binary data, whatever the name says. */
function looksBinary(sample: Uint8Array): boolean {
  let controls = 0;
  for (const byte of sample) {
    if (byte === 0) return true;
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b) || byte === 0x7f) {
      controls++;
    }
  }
  return controls > Math.max(2, sample.length * 0.01);
}

const HTML_START = /^<(!doctype\s+html|html|head|body|meta|title)[\s>/]/i;

function looksHtml(text: string, extension: string): boolean {
  const start = text
    .replace(/^\ufeff/, '')
    .replace(/^(\s|<!--[\s\S]*?-->|<\?xml[^>]*\?>)+/, '')
    .slice(0, 1024);
  if (HTML_START.test(start)) return true;
  return /^(html?|xhtml)$/.test(extension) && /^<[a-z!]/i.test(start) && /<\/?(p|div|h[1-6]|table|ul|ol|span|a)\b/i.test(text);
}

/**
 * Whether text that is not HTML is XML, and which: declared (an XML declaration or a DOCTYPE), a
 * JATS article (root <article> holding <front> or <article-meta>), or any root element in a file
 * named as XML. Tags in a file that says none of this stay text. JATS is told apart so it can be
 * read as an article.
 */
function xmlKind(text: string, extension: string): 'jats' | 'svg' | 'xml' | null {
  const start = text.replace(/^\ufeff/, '').replace(/^(\s|<!--[\s\S]*?-->)+/, '');
  const declared = /^<\?xml\b/.test(start) || /^<!DOCTYPE\s+[A-Za-z_]/i.test(start);
  const body = start.replace(/^(<\?[^>]*\?>|\s|<!--[\s\S]*?-->|<!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>)+/i, '');
  const root = /^<([A-Za-z_][\w.:-]*)[\s>/]/.exec(body)?.[1];
  if (root?.toLowerCase() === 'svg') return 'svg';
  const article = root === 'article' && /<(front|article-meta)[\s>]/.test(text);
  if (!declared && !article && !(root !== undefined && /^(xml|nxml|jats|rss|atom)$/.test(extension))) return null;
  return article || /^<!DOCTYPE\s+article[^>]*(JATS|NLM)/i.test(start) ? 'jats' : 'xml';
}

/** Markdown structure: ATX headings, fenced code, list markers, links, GFM table rules. */
export function looksMarkdown(text: string): boolean {
  const count = (re: RegExp) => text.match(re)?.length ?? 0;
  const headings = count(/^#{1,6}[ \t]+\S/gm);
  const fences = count(/^ {0,3}(```|~~~)/gm);
  const lists = count(/^[ \t]*([-*+]|\d{1,9}[.)])[ \t]+\S/gm);
  const links = count(/\[[^\]\n]+\]\([^)\s]+\)/g);
  const tables = count(/^\|?[ \t]*:?-{3,}:?[ \t]*\|/gm);
  if (fences >= 2 || tables > 0) return true;
  const signals = [headings > 0, lists >= 2, links > 0, count(/\*\*[^*\n]+\*\*/g) > 0].filter(Boolean).length;
  return headings >= 2 || signals >= 2;
}

export function sniff(bytes: Uint8Array, filename: string): Sniffed {
  if (bytes.length === 0) throw new IngestError('no_text', 'The file is empty');
  if (ascii(bytes, 1024).includes('%PDF-')) return { format: 'pdf', mimeType: 'application/pdf' };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return sniffZip(bytes);
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: 'image', mimeType: 'image/png' };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { format: 'image', mimeType: 'image/jpeg' };
  refuseKnownBinary(bytes);

  const sample = bytes.subarray(0, SAMPLE);
  const bom = detectBom(sample)?.encoding;
  // UTF-16/32 text is full of NULs; only byte-oriented text can be judged by its control characters.
  const wide = (bom !== undefined && bom !== 'utf-8') || detectBomlessUtf16(sample) !== undefined;
  if (!wide && looksBinary(sample)) {
    throw unsupported('This file is binary data of an unsupported type');
  }
  const text = decodeText(sample).text;
  const extension = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase() ?? '';
  if (looksHtml(text, extension)) return { format: 'html', mimeType: 'text/html' };
  const xml = xmlKind(text, extension);
  if (xml === 'svg') throw unsupported('SVG images are not supported; upload the document as PDF, DOCX, HTML, XML or text');
  if (xml) return { format: 'xml', mimeType: xml === 'jats' ? 'application/jats+xml' : 'application/xml' };
  if (/^(md|markdown|mdown|mkd|mdx)$/.test(extension) || looksMarkdown(text)) {
    return { format: 'markdown', mimeType: 'text/markdown' };
  }
  return { format: 'text', mimeType: 'text/plain' };
}
