// Bytes → string for text formats. Order of evidence: a byte-order mark, then a declaration the
// document makes about itself (HTML meta charset), then strict UTF-8 validity, then statistical
// detection. Decoding uses Node's TextDecoder (full ICU covers every WHATWG encoding); iconv-lite
// only covers the few labels WHATWG lacks (UTF-32, ISO-2022-KR/CN).
//
// Text is decoded a piece at a time (StreamDecoder), with the encoding decided on its first bytes,
// so a file need never be one string. UTF-8 chosen on those bytes is checked as the rest arrives:
// where it stops being valid, the rest is read in the encoding detected from there on.

import { isUtf8 } from 'node:buffer';
import chardet from 'chardet';
import iconv from 'iconv-lite';
import type { ParseRun } from './run.ts';
import type { ByteSource } from './source.ts';

export interface Decoded {
  text: string;
  /** Canonical lower-case name, e.g. "utf-8", "utf-16le", "windows-1252", "shift_jis". */
  encoding: string;
}

/** Detection reads at most this much; more rarely changes the verdict and costs linear time. */
const DETECTION_SAMPLE = 256 * 1024;

export function detectBom(bytes: Uint8Array): { encoding: string; length: number } | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0xef && b === 0xbb && c === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (a === 0xff && b === 0xfe) {
    return c === 0 && d === 0 ? { encoding: 'utf-32le', length: 4 } : { encoding: 'utf-16le', length: 2 };
  }
  if (a === 0xfe && b === 0xff) return { encoding: 'utf-16be', length: 2 };
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) return { encoding: 'utf-32be', length: 4 };
  return undefined;
}

/**
 * UTF-16 without a BOM: mostly-Latin text leaves one byte of nearly every pair zero. Used by the
 * sniffer too, so such text is not mistaken for binary because of its NULs.
 */
export function detectBomlessUtf16(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(bytes.length, 4096) & ~1;
  if (n < 8) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZero++;
    if (bytes[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero > pairs * 0.4 && evenZero < pairs * 0.05) return 'utf-16le';
  if (evenZero > pairs * 0.4 && oddZero < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/** The WHATWG canonical name for a label, or undefined when TextDecoder does not know it. */
export function canonicalEncoding(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return iconv.encodingExists(label) ? label.trim().toLowerCase() : undefined;
  }
}

export function decodeWith(bytes: Uint8Array, encoding: string): string {
  return pieceDecoder(encoding)(bytes, true);
}

/** Decodes one piece after another in `encoding`; a character split between pieces waits for the next. */
type PieceDecoder = (bytes: Uint8Array, last: boolean) => string;

function pieceDecoder(encoding: string): PieceDecoder {
  try {
    // ignoreBOM keeps a BOM the caller already accounted for from being stripped twice.
    const decoder = new TextDecoder(encoding, { ignoreBOM: true });
    return (bytes, last) => decoder.decode(bytes, { stream: !last });
  } catch {
    const decoder = iconv.getDecoder(encoding, { stripBOM: false });
    return (bytes, last) => {
      const text = bytes.byteLength > 0 ? decoder.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) : '';
      return last ? text + (decoder.end() ?? '') : text;
    };
  }
}

function detectLegacy(bytes: Uint8Array): string {
  const sample = bytes.subarray(0, DETECTION_SAMPLE);
  for (const candidate of chardet.analyse(sample)) {
    const name = candidate.name.toLowerCase();
    // UTF-8 was already ruled out by strict validation; "ascii" cannot hold the high bytes.
    if (name === 'utf-8' || name === 'ascii') continue;
    const canonical = canonicalEncoding(name);
    if (canonical) return canonical;
  }
  // Every byte is defined in windows-1252, and Western text is the most likely remaining case.
  return 'windows-1252';
}

/** Where the last UTF-8 sequence in `bytes` starts if it is cut short by the end, else the end. */
function completeEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const byte = bytes[i] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + length > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}

/**
 * How many leading bytes are well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code
 * points past U+10FFFF), and whether what follows is only a sequence cut short by the end.
 */
export function utf8Prefix(bytes: Uint8Array): { valid: number; cutShort: boolean } {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const more = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (more === 0) return { valid: i, cutShort: false };
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= more; k++) {
      if (i + k >= bytes.length) return { valid: i, cutShort: true };
      const next = bytes[i + k] as number;
      if (k === 1 ? next < low || next > high : (next & 0xc0) !== 0x80) return { valid: i, cutShort: false };
    }
    i += more + 1;
  }
  return { valid: i, cutShort: false };
}

/** Valid UTF-8, allowing the last character to be cut short (the bytes may be a prefix). */
function looksUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes.subarray(0, completeEnd(bytes)));
}

const EMPTY = new Uint8Array(0);
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Decodes text a piece at a time. The encoding is decided on `head`, the file's first bytes (all
 * of them, or as many as the caller read ahead): a BOM, then `declared` (an in-document
 * declaration such as HTML's meta charset; it wins over detection except when it claims UTF-8 for
 * bytes that are not), then UTF-8 validity, then statistical detection. Feed every byte from the
 * start of the file, head included, to `write`, then call `end`.
 */
export class StreamDecoder {
  #encoding: string;
  #decode: PieceDecoder;
  /** Byte-order mark bytes still to drop from the start. */
  #skip: number;
  /** UTF-8 chosen from the head alone: every later piece is checked before it is trusted. */
  #checking = false;
  /** The start of a UTF-8 character whose remaining bytes are in the next piece. */
  #pending: Uint8Array = EMPTY;

  constructor(head: Uint8Array, options: { declared?: string } = {}) {
    const bom = detectBom(head);
    this.#skip = bom?.length ?? 0;
    this.#encoding = bom?.encoding ?? this.#choose(head, options.declared);
    this.#decode = pieceDecoder(this.#encoding);
  }

  /** The canonical name (e.g. "utf-8", "windows-1252"); changes once if UTF-8 text turns out not to be. */
  get encoding(): string {
    return this.#encoding;
  }

  #choose(head: Uint8Array, declaredLabel: string | undefined): string {
    let declared = declaredLabel ? canonicalEncoding(declaredLabel) : undefined;
    // A UTF-16 declaration that was itself readable as ASCII is wrong by construction (WHATWG rule).
    if (declared?.startsWith('utf-16')) declared = 'utf-8';
    const utf16 = detectBomlessUtf16(head);
    if (utf16) return utf16;
    const utf8 = looksUtf8(head);
    if (declared && !(declared === 'utf-8' && !utf8)) {
      this.#checking = declared === 'utf-8';
      return declared;
    }
    if (utf8) {
      this.#checking = true;
      return 'utf-8';
    }
    return detectLegacy(head);
  }

  /** The text of the next bytes; a character cut short at their end comes with the next call. */
  write(bytes: Uint8Array): string {
    return this.#write(bytes, false);
  }

  /** The text still held back; a character the file cuts short becomes U+FFFD. */
  end(): string {
    return this.#write(EMPTY, true);
  }

  /** The text of `pieces` (every byte of the file from its start), a piece at a time. */
  async *text(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
    for await (const bytes of pieces) {
      const text = this.write(bytes);
      if (text) yield text;
    }
    const rest = this.end();
    if (rest) yield rest;
  }

  #write(piece: Uint8Array, last: boolean): string {
    let bytes = piece;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, bytes.byteLength);
      bytes = bytes.subarray(skipped);
      this.#skip -= skipped;
    }
    return this.#checking ? this.#checkedUtf8(bytes, last) : this.#decode(bytes, last);
  }

  #checkedUtf8(piece: Uint8Array, last: boolean): string {
    const bytes = this.#pending.byteLength > 0 ? joinBytes(this.#pending, piece) : piece;
    const end = last ? bytes.byteLength : completeEnd(bytes);
    if (isUtf8(bytes.subarray(0, end))) {
      this.#pending = bytes.slice(end);
      return UTF8.decode(bytes.subarray(0, end));
    }
    const { valid, cutShort } = utf8Prefix(bytes);
    if (cutShort) return UTF8.decode(bytes);
    // Not UTF-8 after all. What was valid was UTF-8 (ASCII reads the same in every candidate);
    // the rest is read in the encoding detected from where it stops being UTF-8.
    this.#checking = false;
    this.#pending = EMPTY;
    this.#encoding = detectLegacy(bytes.subarray(valid));
    this.#decode = pieceDecoder(this.#encoding);
    return UTF8.decode(bytes.subarray(0, valid)) + this.#decode(bytes.subarray(valid), last);
  }
}

/**
 * Decodes text bytes held whole. `declared` is an in-document declaration (HTML meta charset); it
 * wins over detection except when it claims UTF-8 for bytes that are not UTF-8, a common mislabel.
 */
export function decodeText(bytes: Uint8Array, options: { declared?: string } = {}): Decoded {
  const decoder = new StreamDecoder(bytes, options);
  const text = decoder.write(bytes) + decoder.end();
  return { text, encoding: decoder.encoding };
}

/**
 * The text of a source, a piece at a time; between pieces the parse's deadline is checked and
 * how much of the file has been read is reported as its progress.
 */
export async function* textPieces(source: ByteSource, decoder: StreamDecoder, run: ParseRun): AsyncGenerator<string> {
  for await (const text of decoder.text(source.pieces())) {
    run.checkpoint();
    run.progress('parsing', source.read / Math.max(1, source.size));
    yield text;
  }
}
