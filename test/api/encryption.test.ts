import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataKey } from '../../server/crypto/data-key.ts';
import { Client, setUp } from '../helpers/client.ts';
import { admin } from '../helpers/admin.ts';
import { runServerToExit } from '../helpers/process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Encryption at rest (#10, control 4): with DATA_KEY_FILE set, a document's text is nowhere in
// DATA_DIR once the server has stopped — not in the originals, the store, the search index, the
// conversations that quote it, free pages or the write-ahead log — while search, answers and
// downloads work as before. The same flow without a key finds the sentence (the grep works);
// rotate-data-key seals such a DATA_DIR, and moves an encrypted one to a new key.


/** Files under `dir` holding `text` in UTF-8 or UTF-16 (either byte order), read as bytes. */
async function filesHolding(dir: string, text: string): Promise<string[]> {
  const needles = [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le'), Buffer.from(text, 'utf16le').swap16()];
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = await readFile(file);
    if (needles.some((needle) => bytes.includes(needle))) found.push(path.relative(dir, file));
  }
  return found;
}

/** A document whose one unusual sentence is the marker looked for on disk. */
function document(word: string): { sentence: string; bytes: Buffer } {
  const sentence = `The ${word} cooling loop must be flushed with sterile saline every ninth Tuesday.`;
  const text = ['# Plant room procedures', 'Check the boiler pressure gauge at the start of each shift.', sentence, 'Report any leak to the facilities desk at once.'].join('\n\n');
  return { sentence, bytes: Buffer.from(text) };
}

interface Uploaded {
  client: Client;
  kbId: string;
  documentId: string;
}

/** Sets up, uploads the document, waits until it is ready, asks about it and searches it. */
async function uploadAskSearch(server: TestServer, word: string, bytes: Buffer): Promise<Uploaded> {
  const { owner } = await setUp(server.url);
  const kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id as string;
  const up = await owner.upload(kbId, [{ name: 'plant-room.md', bytes, type: 'text/markdown' }]);
  assert.equal(up.status, 202, up.text);
  const [doc] = await owner.settle(kbId);
  assert.equal(doc?.['status'], 'ready', JSON.stringify(doc));
  const documentId = doc['id'] as string;

  const asked = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'How often is the cooling loop flushed, and with what?' });
  assert.equal(asked.status, 200, asked.text);
  assert.ok(asked.json.citations.some((c: { quote: string }) => c.quote.includes(`${word} cooling loop`)), JSON.stringify(asked.json.citations));
  const conversation = await owner.get(`/api/v1/conversations/${asked.json.conversationId}`);
  assert.ok(JSON.stringify(conversation.json.messages).includes(`${word} cooling loop`), 'the stored answer quotes the passage');

  await checkReadable(server.url, { client: owner, kbId, documentId }, word, bytes);
  return { client: owner, kbId, documentId };
}

/** Search finds the passage, the extracted text holds it, and the original downloads byte for byte. */
async function checkReadable(url: string, { client, kbId, documentId }: Uploaded, word: string, bytes: Buffer): Promise<void> {
  const c = client.withBase(url);
  const hits = (await c.post(`/api/v1/kbs/${kbId}/search`, { query: `${word} saline`, mode: 'keyword' })).json.hits as Array<{ text: string; headings: string[] }>;
  assert.equal(hits.length, 1);
  assert.match(hits[0]!.text, new RegExp(`${word} cooling loop`));
  assert.deepEqual(hits[0]!.headings, ['Plant room procedures']);
  const content = await c.get(`/api/v1/kbs/${kbId}/documents/${documentId}/content`);
  assert.ok(JSON.stringify(content.json.blocks).includes(`${word} cooling loop`));
  const file = await fetch(`${url}/api/v1/kbs/${kbId}/documents/${documentId}/file`, { headers: { cookie: c.cookie! } });
  assert.equal(file.status, 200);
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), bytes);
}

describe('encryption at rest', () => {
  let scratch: string;
  const keyFile = (name: string) => path.join(scratch, name);
  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'lectern-keys-'));
    await writeFile(keyFile('first.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    await writeFile(keyFile('second.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    await writeFile(keyFile('short.key'), 'deadbeef\n');
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('without a key, the marker sentence is found under DATA_DIR (the grep works); rotate-data-key then seals it all', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-plain-'));
    try {
      const word = `plain${randomBytes(4).toString('hex')}`;
      const { sentence, bytes } = document(word);
      const plain = await startTestServer({ dataDir });
      const uploaded = await uploadAskSearch(plain, word, bytes);
      await plain.close();
      const found = await filesHolding(dataDir, sentence);
      assert.ok(found.some((f) => f.startsWith('files/')), `the original: ${found}`);
      assert.ok(found.includes(path.join('store', 'lectern.sqlite')), `the store: ${found}`);

      const sealed = await admin(['rotate-data-key', '--new-key-file', keyFile('first.key')], { DATA_DIR: dataDir });
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.match(sealed.stdout, /document_texts: 1 of 1 re-encrypted/);
      assert.match(sealed.stdout, /chunks: 1 of 1 re-encrypted/);
      assert.match(sealed.stdout, /messages: 2 of 2 re-encrypted/);
      assert.match(sealed.stdout, /files: 1 of 1 original files re-encrypted/);
      assert.match(sealed.stdout, /Now set DATA_KEY_FILE=/);
      assert.deepEqual(await filesHolding(dataDir, sentence), []);

      const refused = await startTestServer({ dataDir }).then(
        (s) => s.close().then(() => null),
        (err: Error) => err.message,
      );
      assert.match(refused ?? 'started', /DATA_DIR is encrypted under data key [0-9a-f]{16}; set DATA_KEY_FILE/);
      const reopened = await startTestServer({ dataDir, env: { DATA_KEY_FILE: keyFile('first.key') } });
      try {
        await checkReadable(reopened.url, uploaded, word, bytes);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('with DATA_KEY_FILE, no file under DATA_DIR holds the document once the server stops; a rotation moves it to a new key', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-sealed-'));
    try {
      const word = `sealed${randomBytes(4).toString('hex')}`;
      const { sentence, bytes } = document(word);
      const server = await startTestServer({ dataDir, env: { DATA_KEY_FILE: keyFile('first.key') } });
      let uploaded: Uploaded;
      try {
        uploaded = await uploadAskSearch(server, word, bytes);
        const busy = await admin(['rotate-data-key', '--new-key-file', keyFile('second.key')], { DATA_DIR: dataDir, DATA_KEY_FILE: keyFile('first.key') });
        assert.equal(busy.code, 75, `refused while the server runs: ${busy.stderr}`);
        assert.match(busy.stderr, /is open in another process \(is the server running\?\); stop it first/);
      } finally {
        await server.close();
      }
      assert.deepEqual(await filesHolding(dataDir, sentence), []);
      // Single words stay in the search index's term dictionary (documented); no run of them does.
      assert.deepEqual(await filesHolding(dataDir, `${word} cooling`), []);
      assert.deepEqual(await filesHolding(dataDir, 'Report any leak to the facilities desk'), []);

      const rotate = () => admin(['rotate-data-key', '--new-key-file', keyFile('second.key')], { DATA_DIR: dataDir, DATA_KEY_FILE: keyFile('first.key') });
      const rotated = await rotate();
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.match(rotated.stdout, /chunks: 1 of 1 re-encrypted/);
      assert.match(rotated.stdout, /search index passages: 1 re-encrypted/);
      assert.match(rotated.stdout, /files: 1 of 1 original files re-encrypted/);
      const again = await rotate();
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /chunks: 0 of 1 re-encrypted/, 'a second run finds nothing left to do');
      assert.match(again.stdout, /files: 0 of 1 original files re-encrypted/);

      const oldId = new DataKey(Buffer.from((await readFile(keyFile('first.key'), 'utf8')).trim(), 'hex')).id;
      assert.deepEqual(await filesHolding(dataDir, `lectern:sealed:1:${oldId}`), [], 'no envelope is left under the old key');
      assert.deepEqual(await filesHolding(dataDir, sentence), []);

      const stale = await startTestServer({ dataDir, env: { DATA_KEY_FILE: keyFile('first.key') } }).then(
        (s) => s.close().then(() => null),
        (err: Error) => err.message,
      );
      assert.match(stale ?? 'started', /DATA_KEY_FILE holds data key [0-9a-f]{16}, but DATA_DIR is encrypted under data key [0-9a-f]{16}/);
      const next = await startTestServer({ dataDir, env: { DATA_KEY_FILE: keyFile('second.key') } });
      try {
        await checkReadable(next.url, uploaded!, word, bytes);
      } finally {
        await next.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a key file that holds no key, or sits inside DATA_DIR, stops the server at start with exit 78 and one line', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-badkey-'));
    try {
      const short = await runServerToExit({ DATA_DIR: dataDir, DATA_KEY_FILE: keyFile('short.key') });
      assert.equal(short.code, 78);
      assert.match(short.stderr, /DATA_KEY_FILE: .*short\.key holds no 256-bit key .*openssl rand -hex 32/);
      await writeFile(path.join(dataDir, 'inside.key'), randomBytes(32).toString('hex'));
      const inside = await runServerToExit({ DATA_DIR: dataDir, DATA_KEY_FILE: path.join(dataDir, 'inside.key') });
      assert.equal(inside.code, 78);
      assert.match(inside.stderr, /DATA_KEY_FILE: .*inside\.key is inside DATA_DIR/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
