import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCanvas } from '@napi-rs/canvas';
import { IngestError } from '../types.ts';
import { decodeImage, encodePgm, fitScale, readImageHeader, turnHalfway, type GrayImage } from './raster.ts';

// 3 wide, 2 high:  1 2 3
//                  4 5 6
const sample: GrayImage = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };

function pngHeader(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(33);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(bytes.buffer).setUint32(16, width);
  new DataView(bytes.buffer).setUint32(20, height);
  return bytes;
}

describe('OCR rasters', () => {
  it('turns grey images upside down', () => {
    assert.deepEqual(turnHalfway(sample), { width: 3, height: 2, data: Uint8Array.from([6, 5, 4, 3, 2, 1]) });
    assert.deepEqual([...sample.data], [1, 2, 3, 4, 5, 6], 'the source is left alone');
  });

  it('encodes binary PGM', () => {
    assert.deepEqual([...encodePgm(sample)], [...Buffer.from('P5\n3 2\n255\n', 'latin1'), 1, 2, 3, 4, 5, 6]);
  });

  it('reads PNG and JPEG sizes from their headers', () => {
    const canvas = createCanvas(37, 21);
    assert.deepEqual(readImageHeader(canvas.toBuffer('image/png')), { format: 'png', width: 37, height: 21 });
    assert.deepEqual(readImageHeader(canvas.toBuffer('image/jpeg')), { format: 'jpeg', width: 37, height: 21 });
    assert.equal(readImageHeader(Buffer.from('GIF89a, not a scan')), undefined);
    assert.equal(readImageHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 200])), undefined, 'a JPEG cut before its frame header');
  });

  it('keeps the preferred scale unless the pixel budget is exceeded', () => {
    assert.equal(fitScale(595, 842, 300 / 72, 12.5e6), 300 / 72);
    const scale = fitScale(2000, 2000, 300 / 72, 12.5e6);
    assert.ok(Math.abs(2000 * scale * 2000 * scale - 12.5e6) < 1);
  });

  it('decodes images to grey on white and refuses what it should not decode', async () => {
    const canvas = createCanvas(4, 2);
    const context = canvas.getContext('2d');
    context.fillStyle = '#000';
    context.fillRect(0, 0, 2, 2); // the right half stays transparent
    const image = await decodeImage(canvas.toBuffer('image/png'));
    assert.deepEqual([...image.data], [0, 0, 255, 255, 0, 0, 255, 255]);

    const code = (code: string) => (error: unknown) => error instanceof IngestError && error.code === code;
    await assert.rejects(decodeImage(Buffer.from('%PDF-1.7 not an image')), code('unsupported_type'));
    await assert.rejects(decodeImage(pngHeader(100_000, 100_000)), code('too_large'));
    await assert.rejects(decodeImage(pngHeader(0, 10)), code('corrupt'));
    await assert.rejects(decodeImage(pngHeader(640, 480)), code('corrupt'));
  });
});
