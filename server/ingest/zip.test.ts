import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zip } from './testing.ts';
import { IngestError } from './types.ts';
import { readZipDirectory, ZipReader } from './zip.ts';

const MB = 1024 * 1024;
const fails = (fn: () => unknown, code: string, message?: RegExp) =>
  assert.throws(fn, (error: unknown) => error instanceof IngestError && error.code === code && (!message || message.test(error.message)));

describe('ZipReader', () => {
  it('lists entries and inflates the ones asked for', () => {
    const archive = zip([
      { name: 'a.txt', data: 'alpha '.repeat(100) },
      { name: 'b.bin', data: new Uint8Array([1, 2, 3]), stored: true },
    ]);
    assert.deepEqual(readZipDirectory(archive).map((e) => e.name), ['a.txt', 'b.bin']);
    const reader = new ZipReader(archive, MB);
    assert.equal(new TextDecoder().decode(reader.read('a.txt')), 'alpha '.repeat(100));
    assert.deepEqual([...(reader.read('b.bin') ?? [])], [1, 2, 3]);
    assert.equal(reader.read('missing'), undefined);
  });

  it('refuses a container whose declared total exceeds the budget, naming the expansion', () => {
    const archive = zip([{ name: 'big.xml', data: 'x'.repeat(3 * MB) }]);
    fails(() => new ZipReader(archive, 2 * MB), 'too_large', /expands to 3\.0 MB \(\d+× its size\), over the 2\.0 MB limit/);
  });

  it('counts the bytes actually inflated when the declared size lies', () => {
    const archive = zip([{ name: 'bomb.xml', data: 'x'.repeat(3 * MB), declaredSize: 1000 }]);
    const reader = new ZipReader(archive, 2 * MB);
    fails(() => reader.read('bomb.xml'), 'too_large', /bomb\.xml expands to more than 2\.0 MB/);
  });

  it('keeps one budget across entries', () => {
    const archive = zip([
      { name: 'one.xml', data: 'a'.repeat(0.6 * MB), declaredSize: 10 },
      { name: 'two.xml', data: 'b'.repeat(0.6 * MB), declaredSize: 10 },
    ]);
    const reader = new ZipReader(archive, MB);
    assert.throws(() => reader.read('one.xml'), /does not match its recorded size/);
    const honest = new ZipReader(zip([{ name: 'one.xml', data: 'a'.repeat(0.6 * MB) }, { name: 'two.xml', data: 'b'.repeat(0.3 * MB) }]), MB);
    honest.read('one.xml');
    honest.read('two.xml');
    const greedy = new ZipReader(zip([{ name: 'one.xml', data: 'a'.repeat(0.6 * MB) }, { name: 'two.xml', data: 'b'.repeat(0.6 * MB), declaredSize: 1 }]), MB);
    greedy.read('one.xml');
    fails(() => greedy.read('two.xml'), 'too_large');
  });

  it('reports damage as corrupt', () => {
    const archive = zip([{ name: 'a.txt', data: 'hello world, hello world' }]);
    fails(() => readZipDirectory(archive.subarray(0, archive.length - 30)), 'corrupt', /end-of-central-directory|central directory/);
    const flipped = archive.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 0xff; // inside the deflated data
    fails(() => new ZipReader(flipped, MB).read('a.txt'), 'corrupt');
  });
});
