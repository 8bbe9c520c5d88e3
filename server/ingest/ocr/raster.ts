// Everything OCR sees is first turned into one form: 8-bit grey pixels. Tesseract binarises
// internally, so colour only costs memory and transfer; a bare grey buffer can also be turned
// cheaply when a page turns out to be upside down, and handed over as PGM, which Leptonica reads
// as is: a PNG would add an encode (up to 2 s per 300 DPI page on a busy two-core box) and a decode.

import { IngestError } from '../types.ts';

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major, one byte per pixel, no row padding. */
  data: Uint8Array;
  /** Known resolution (rendered PDF pages); lets Tesseract skip guessing it from glyph sizes. */
  dpi?: number;
}

/** Resolution PDF pages are rendered at (why 300: see ../ocr.ts). */
export const OCR_DPI = 300;
/** Largest image handed to Tesseract: an A4/Letter page at 300 DPI or a 12 MP phone photo fits; bigger ones are scaled down. */
export const MAX_OCR_PIXELS = 12.5e6;
/** Largest source image decoded at all (a 600 DPI A3 scan is 70 MP); beyond it the file is refused before any allocation. */
export const MAX_SOURCE_PIXELS = 80e6;

/** Scale that brings a width×height (at scale 1) to the preferred scale without exceeding maxPixels. */
export function fitScale(width: number, height: number, preferred: number, maxPixels: number): number {
  return Math.min(preferred, Math.sqrt(maxPixels / Math.max(1, width * height)));
}

/** Flattens canvas RGBA (already composited on white) to luma (BT.601 weights, fixed point). */
export function grayFromRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 1) {
    data[j] = ((rgba[i] ?? 0) * 77 + (rgba[i + 1] ?? 0) * 150 + (rgba[i + 2] ?? 0) * 29) >> 8;
  }
  return { width, height, data };
}

/** The image turned 180°: reversing the pixel order is exactly that. */
export function turnHalfway(image: GrayImage): GrayImage {
  return { ...image, data: image.data.slice().reverse() };
}

/** Binary PGM (P5): the simplest format Leptonica reads. */
export function encodePgm(image: GrayImage): Buffer {
  const header = Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'latin1');
  return Buffer.concat([header, image.data]);
}

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** Reads the pixel size from a PNG or JPEG header without decoding, so a decompression bomb is refused before it allocates. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 24 && png.every((b, i) => bytes[i] === b)) {
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  // Walk the JPEG segments to the first start-of-frame; its header carries the size.
  let at = 2;
  while (at + 9 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { format: 'jpeg', width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
    const standalone = marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
    at += standalone ? 2 : 2 + view.getUint16(at + 2);
  }
  return undefined;
}

type Canvas = typeof import('@napi-rs/canvas');

/** The native canvas is loaded on first use, so a missing platform binary is reported by `ocrAvailable` instead of failing the import of the whole module. */
export function loadCanvas(): Promise<Canvas> {
  return import('@napi-rs/canvas');
}

/** Decodes a PNG/JPEG to grey, composited on white (transparent scans otherwise read as black) and scaled to MAX_OCR_PIXELS. */
export async function decodeImage(bytes: Uint8Array): Promise<GrayImage> {
  const header = readImageHeader(bytes);
  if (!header) throw new IngestError('unsupported_type', 'OCR reads PNG and JPEG images only');
  const { width, height } = header;
  if (width === 0 || height === 0) throw new IngestError('corrupt', `the ${header.format.toUpperCase()} header declares no pixels`);
  if (width * height > MAX_SOURCE_PIXELS) {
    throw new IngestError('too_large', `the image is ${width}×${height} pixels; at most ${MAX_SOURCE_PIXELS / 1e6} megapixels are read`);
  }
  const { createCanvas, loadImage } = await loadCanvas();
  const decoded = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).catch((cause: unknown) => {
    throw new IngestError('corrupt', `the ${header.format.toUpperCase()} image could not be decoded`, { cause });
  });
  const scale = Math.min(1, fitScale(decoded.width, decoded.height, 1, MAX_OCR_PIXELS));
  const canvas = createCanvas(Math.max(1, Math.round(decoded.width * scale)), Math.max(1, Math.round(decoded.height * scale)));
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(decoded, 0, 0, canvas.width, canvas.height);
  return grayFromRgba(context.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
}
