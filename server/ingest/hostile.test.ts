// Every hostile file in the shared corpus, and every ordinary one, through the real isolated
// parser: the outcomes asserted here are what a user would see on upload.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseIsolated } from './isolate.ts';
import { ocrAvailable } from './ocr.ts';
import { needsShared, sharedFile, sharedFiles, testLimits } from './testing.ts';
import { IngestError, type IngestErrorCode, type ParsedDocument, type ParseLimits } from './types.ts';

const MB = 1024 * 1024;

function parse(file: string, limits: Partial<ParseLimits> = {}): Promise<ParsedDocument> {
  return parseIsolated({ bytes: sharedFile(file), filename: path.basename(file) }, testLimits(limits));
}

async function failsWith(file: string, code: IngestErrorCode, limits: Partial<ParseLimits> = {}): Promise<IngestError> {
  try {
    await parse(file, limits);
  } catch (error) {
    assert.ok(error instanceof IngestError, `${file}: ${String(error)}`);
    assert.equal(error.code, code, `${file}: ${error.message}`);
    return error;
  }
  assert.fail(`${file} parsed, expected ${code}`);
}

const allText = (doc: ParsedDocument) => doc.blocks.map((b) => b.text).join('\n');

const ocr = await ocrAvailable(['eng']);

/** The expected outcome for each file in hostile/; a new file there fails the suite until it is added. */
const HOSTILE: Record<string, () => Promise<void>> = {
  'encrypted-user-password-1234.pdf': async () => {
    const error = await failsWith('hostile/encrypted-user-password-1234.pdf', 'encrypted');
    assert.match(error.message, /password-protected/);
  },
  'malformed-no-startxref.pdf': async () => {
    await failsWith('hostile/malformed-no-startxref.pdf', 'corrupt');
  },
  'permissions-restricted-owner-password.pdf': async () => {
    const doc = await parse('hostile/permissions-restricted-owner-password.pdf');
    assert.equal(doc.pages?.length, 2);
    assert.match(allText(doc), /LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis/);
  },
  'scanned-image-only-4p-known-text.pdf': async () => {
    const error = await failsWith('hostile/scanned-image-only-4p-known-text.pdf', 'no_text', { ocr: false });
    assert.match(error.message, /OCR is turned off/);
  },
  'truncated.docx': async () => {
    await failsWith('hostile/truncated.docx', 'corrupt');
  },
  'xxe-external-entity.docx': async () => {
    const error = await failsWith('hostile/xxe-external-entity.docx', 'unsafe');
    assert.match(error.message, /DOCTYPE/);
    assert.doesNotMatch(error.message, /Apache|POI/i);
  },
  'high-expansion-15MB-xml.docx': async () => {
    const error = await failsWith('hostile/high-expansion-15MB-xml.docx', 'too_large', { maxUncompressedBytes: 5 * MB });
    assert.match(error.message, /expands to 14\.6 MB \(\d+× its size\)/);
    // It is a legitimate (very long) Russian contract: under a generous limit it parses.
    const doc = await parse('hostile/high-expansion-15MB-xml.docx', { maxUncompressedBytes: 64 * MB });
    assert.match(allText(doc), /Комитет по информатизации и связи/);
    assert.ok(doc.blocks.filter((b) => b.kind === 'table-row').length > 1000);
  },
};

describe('hostile documents', { skip: needsShared }, () => {
  it('covers every file in the hostile folder', () => {
    assert.deepEqual(sharedFiles('hostile').map((f) => path.basename(f)), Object.keys(HOSTILE).sort());
  });

  for (const [name, check] of Object.entries(HOSTILE)) it(name, check);

  it('OCRs the scanned PDF when OCR is enabled', { skip: ocr.ok ? false : `OCR unavailable: ${ocr.reason}` }, async () => {
    const stages = new Set<string>();
    const doc = await parseIsolated(
      { bytes: sharedFile('hostile/scanned-image-only-4p-known-text.pdf'), filename: 'scan.pdf' },
      testLimits({ ocr: true }),
      (stage) => stages.add(stage),
    );
    assert.deepEqual(doc.pages, [1, 2, 3, 4].map((number) => ({ number, ocr: true })));
    const first = doc.blocks.filter((b) => b.page === 1).map((b) => b.text).join(' ');
    assert.match(first, /Docling bundles PDF document conversion/);
    assert.deepEqual([...stages], ['parsing', 'ocr']);
    assert.deepEqual(doc.warnings, ["4 pages had no text layer and were OCR'd"]);
  });

  it('times out a parse that runs past timeoutMs', async () => {
    const started = performance.now();
    await failsWith('pdf/cancer-council-understanding-breast-cancer-76p.pdf', 'timeout', { timeoutMs: 150 });
    assert.ok(performance.now() - started < 1500);
  });
});

// Builds its own input, so it runs whether or not the shared documents are there.
describe('a parse over its memory limit', () => {
  it('stops a parse whose heap outgrows maxMemoryMb', async () => {
    // A genuinely large page: 300,000 short paragraphs (6 MB of HTML) become a DOM of 600,000 nodes.
    const html = `<html><body>${'<p>Duck paragraph.</p>'.repeat(300_000)}</body></html>`;
    const bytes = new Uint8Array(Buffer.from(html));
    await assert.rejects(parseIsolated({ bytes, filename: 'big.html' }, testLimits({ maxMemoryMb: 32 })), {
      code: 'out_of_memory',
      message: /32 MB memory limit/,
    });
  });
});

/** What every ordinary file must yield: its format, and the encoding for text formats. */
const EXPECTED_ENCODING: Record<string, string> = {
  'text/dutch-anna-karenina-cp1252.txt': 'windows-1252',
  'text/utf16le-bom.txt': 'utf-16le',
  'html/cp1252-encoded.html': 'windows-1252',
  'markdown/umlauts-latin1.md': 'windows-1252',
};
const FORMAT: Record<string, ParsedDocument['format']> = { pdf: 'pdf', docx: 'docx', html: 'html', markdown: 'markdown', text: 'text' };
const PAGES: Record<string, number> = {
  'pdf/cancer-council-understanding-breast-cancer-76p.pdf': 76,
  'pdf/ibm-redpaper-redp5110-db2-rcac-sampled-18p.pdf': 18,
  'pdf/inform-benutzerhandbuch-de-6p.pdf': 6,
  'pdf/gao-23-106826-cybersecurity-2p.pdf': 2,
};

describe('ordinary documents', { skip: needsShared, concurrency: 2 }, () => {
  for (const folder of Object.keys(FORMAT)) {
    for (const file of sharedFiles(folder)) {
      it(file, async () => {
        const doc = await parse(file);
        assert.equal(doc.format, FORMAT[folder]);
        assert.ok(doc.blocks.length > 0);
        assert.ok(doc.blocks.every((b) => b.text.length > 0 && b.text === b.text.trim()));
        if (folder === 'pdf') {
          assert.ok(doc.pages && doc.pages.length > 0);
          if (PAGES[file]) assert.equal(doc.pages.length, PAGES[file]);
          assert.ok(doc.blocks.every((b) => b.page !== undefined));
        } else if (folder !== 'docx') {
          assert.equal(doc.encoding, EXPECTED_ENCODING[file] ?? 'utf-8');
        }
      });
    }
  }
});
