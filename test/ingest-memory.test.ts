import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setUp } from './helpers/client.ts';
import { startServerProcess } from './helpers/process.ts';

// A text upload just under the upload limit (100 MB) holds five times the extracted-text limit
// (INGEST_MAX_TEXT_MB, 20): it must fail as text over its limit, and the server process must not
// grow by a multiple of the file on the way (#10, finding 4: a 99 MB text took the process to
// 1.6 GB and failed `out_of_memory`). Each upload runs in a server process of its own, with the
// default limits, whose peak resident memory (VmHWM) is read at the end.

const MB = 1024 * 1024;
const PEAK_LIMIT_MB = 600;

const WORDS = 'the filter pump valve intake weekly inspect replace record clinic patient nurse shift report room cleaning schedule staff'.split(' ');

type Shape = 'lines' | 'paragraphs' | 'html';

/**
 * Writes `bytes` of hard-wrapped sentences to `file`, a piece at a time, never all in memory.
 * `lines`: no blank line at all (an export or a log rather than an essay: the shape that ran out
 * of memory); `paragraphs`: a blank line every few lines; `html`: each line a <p>.
 */
async function writeProse(file: string, bytes: number, shape: Shape): Promise<void> {
  const out = createWriteStream(file);
  let written = 0;
  let seed = 7;
  const word = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return WORDS[seed % WORDS.length] as string;
  };
  if (shape === 'html') {
    const head = '<!doctype html><html><head><title>Big</title></head><body><main>\n';
    out.write(head);
    written += head.length;
  }
  while (written < bytes) {
    let piece = '';
    while (piece.length < MB) {
      let line = '';
      while (line.length < 68) line += seed % 9 === 0 ? `${word()}. ` : `${word()} `;
      piece += shape === 'html' ? `<p>${line.trimEnd()}</p>\n` : `${line.trimEnd()}\n`;
      if (shape === 'paragraphs' && seed % 5 === 0) piece += '\n';
    }
    const chunk = piece.slice(0, bytes - written);
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Resident memory of a process in MB: now (VmRSS) and its peak so far (VmHWM). */
async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Uploads `file` to a fresh server process and waits for its document to settle. */
async function uploadAlone(dir: string, file: string): Promise<{ doc: Record<string, any>; before: number; peak: number }> {
  const server = await startServerProcess({ DATA_DIR: path.join(dir, `data-${path.basename(file)}`), OCR_ENABLED: 'false' });
  try {
    const pid = server.child.pid as number;
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Big text' })).json.id as string;
    const before = (await rss(pid)).now;
    const form = new FormData();
    form.append('files', await openAsBlob(file), path.basename(file));
    const started = performance.now();
    const up = await owner.request('POST', `/api/v1/kbs/${kbId}/documents`, form);
    assert.equal(up.status, 202, up.text);
    const [doc = {}] = await owner.settle(kbId, 60_000);
    const { peak } = await rss(pid);
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`${path.basename(file)}: RSS ${before.toFixed(0)} MB before the upload, peak ${peak.toFixed(0)} MB; ${doc['status']} ${doc['error']?.code ?? ''} in ${seconds.toFixed(1)} s\n`);
    return { doc, before, peak };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

describe('uploads around the extracted-text limit', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-bigtext-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('99 MB of text with no blank line fails as too_large naming the text limit, the server under 600 MB', { timeout: 90_000 }, async () => {
    const file = path.join(dir, 'huge.txt');
    await writeProse(file, 99 * MB, 'lines');
    const { doc, peak } = await uploadAlone(dir, file);
    assert.equal(doc['status'], 'failed');
    assert.deepEqual(doc['error'], { code: 'too_large', message: 'The document contains more than 20,971,520 characters of text' });
    assert.ok(peak < PEAK_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });

  it('99 MB of HTML fails as too_large once its markup passes the text limit, the server under 600 MB', { timeout: 90_000 }, async () => {
    const file = path.join(dir, 'huge.html');
    await writeProse(file, 99 * MB, 'html');
    const { doc, peak } = await uploadAlone(dir, file);
    assert.equal(doc['status'], 'failed');
    assert.equal(doc['error']?.code, 'too_large');
    assert.match(doc['error']?.message, /^The HTML is more than 20,971,520 characters long; /);
    assert.ok(peak < PEAK_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });

  it('a text just under the limit is read, chunked and indexed with bounded memory', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'at-limit.txt');
    await writeProse(file, 20 * MB - 64 * 1024, 'paragraphs');
    const { doc, before, peak } = await uploadAlone(dir, file);
    assert.equal(doc['status'], 'ready', JSON.stringify(doc['error']));
    assert.ok(doc['chunks'] > 10_000, `${doc['chunks']} chunks`);
    // The store and the search index take their share on the main thread after parsing: ~270 MB
    // for 20 M characters (the text is stored in parts, see documents/text-parts.ts).
    assert.ok(peak - before < 330, `RSS grew from ${before.toFixed(0)} to ${peak.toFixed(0)} MB`);
    assert.ok(peak < PEAK_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });
});
