// Test support for the ingest parsers: limits, the shared third-party corpus, and a minimal ZIP
// writer for building DOCX fixtures (including ones whose headers lie) inside the tests.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { ParseRun } from './run.ts';
import { ByteSource } from './source.ts';
import type { Block, ParseLimits } from './types.ts';

export function testLimits(overrides: Partial<ParseLimits> = {}): ParseLimits {
  return {
    maxBytes: 50 * 1024 * 1024,
    maxPages: 1000,
    maxTextChars: 10_000_000,
    maxUncompressedBytes: 100 * 1024 * 1024,
    timeoutMs: 60_000,
    maxMemoryMb: 512,
    ocr: false,
    ocrLanguages: ['eng'],
    ...overrides,
  };
}

export function testRun(overrides: Partial<ParseLimits> = {}): ParseRun {
  return new ParseRun(testLimits(overrides));
}

/** Runs a text-format parser on a string or bytes and returns what it extracted plus the blocks. */
export async function runParser<R>(parser: (source: ByteSource, run: ParseRun) => Promise<R>, input: string | Uint8Array): Promise<R & { blocks: Block[] }> {
  const run = testRun();
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const result = await parser(new ByteSource({ filename: 'test', bytes }), run);
  return { ...result, blocks: run.blocks };
}

/** Blocks as one-line strings ("heading2: Title"), for readable assertions. */
export const brief = (blocks: Block[]) => blocks.map((b) => `${b.kind}${b.level ?? ''}: ${b.text}`);

/** /work/shared/docs: third-party documents referenced in place, never copied into the repo. */
export const SHARED_DOCS = path.resolve(import.meta.dirname, '../../../shared/docs');

/** node:test `skip` option for tests that need the shared corpus. */
export const needsShared = existsSync(SHARED_DOCS) ? false : `needs the shared test documents at ${SHARED_DOCS}`;

export function sharedFile(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(SHARED_DOCS, relative)));
}

export function sharedFiles(folder: string): string[] {
  const dir = path.join(SHARED_DOCS, folder);
  return existsSync(dir) ? readdirSync(dir).sort().map((name) => path.join(folder, name)) : [];
}

export interface ZipPart {
  name: string;
  data: string | Uint8Array;
  /** Store instead of deflate. */
  stored?: boolean;
  /** Uncompressed size to declare in the headers instead of the real one. */
  declaredSize?: number;
}

/** Builds a ZIP archive (deflate or stored entries, no data descriptors). */
export function zip(parts: ZipPart[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const data = typeof part.data === 'string' ? Buffer.from(part.data, 'utf8') : Buffer.from(part.data);
    const body = part.stored ? data : deflateRawSync(data);
    const name = Buffer.from(part.name, 'utf8');
    const fields = (header: Buffer, at: number) => {
      header.writeUInt16LE(20, at); // version needed
      header.writeUInt16LE(0x800, at + 2); // UTF-8 names
      header.writeUInt16LE(part.stored ? 0 : 8, at + 4);
      header.writeUInt32LE(crc32(data), at + 10);
      header.writeUInt32LE(body.length, at + 14);
      header.writeUInt32LE(part.declaredSize ?? data.length, at + 18);
      header.writeUInt16LE(name.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    fields(central, 6);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';

/** A DOCX whose body is the given WordprocessingML; other parts may be added or replaced. */
export function docx(body: string, extra: Record<string, string> = {}): Uint8Array {
  const parts: Record<string, string> = {
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ${W}><w:body>${body}</w:body></w:document>`,
    ...extra,
  };
  return zip(Object.entries(parts).map(([name, data]) => ({ name, data })));
}

/** Wraps part XML in a root element declaring the WordprocessingML namespace. */
export function wordPart(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><w:${root} ${W}>${inner}</w:${root}>`;
}

export const para = (text: string, props = '') => `<w:p>${props ? `<w:pPr>${props}</w:pPr>` : ''}<w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;

/** A PDF from numbered object bodies (object 1 must be the catalog), with a correct xref table. */
export function pdf(objects: string[]): Uint8Array {
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

/** A PDF whose pages each show one string in Helvetica (an empty string: a blank page). */
export function textPagesPdf(pages: string[]): Uint8Array {
  const escape = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const first = 4;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${pages.map((_, i) => `${first + i * 2} 0 R`).join(' ')}] /Count ${pages.length} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  pages.forEach((text, i) => {
    const content = `BT /F1 10 Tf 20 700 Td (${escape(text)}) Tj ET`;
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${first + i * 2 + 1} 0 R >>`);
    objects.push(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
  });
  return pdf(objects);
}
