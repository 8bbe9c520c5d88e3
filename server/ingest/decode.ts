// Bytes → string for text formats. Order of evidence: a byte-order mark, then a declaration the
// document makes about itself (HTML meta charset), then strict UTF-8 validity, then statistical
// detection. Decoding uses Node's TextDecoder (full ICU covers every WHATWG encoding); iconv-lite
// only covers the few labels WHATWG lacks (UTF-32, ISO-2022-KR/CN).

import chardet from 'chardet';
import iconv from 'iconv-lite';

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

/** The text when the bytes are strictly valid UTF-8, otherwise undefined. */
export function tryUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function decodeWith(bytes: Uint8Array, encoding: string): string {
  try {
    // ignoreBOM keeps a BOM the caller already accounted for from being stripped twice.
    return new TextDecoder(encoding, { ignoreBOM: true }).decode(bytes);
  } catch {
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding, { stripBOM: false });
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

/**
 * Decodes text bytes. `declared` is an in-document declaration (HTML meta charset); it wins
 * over detection except when it claims UTF-8 for bytes that are not UTF-8, a common mislabel.
 */
export function decodeText(bytes: Uint8Array, options: { declared?: string } = {}): Decoded {
  const bom = detectBom(bytes);
  if (bom) return { text: decodeWith(bytes.subarray(bom.length), bom.encoding), encoding: bom.encoding };
  let declared = options.declared ? canonicalEncoding(options.declared) : undefined;
  // A UTF-16 declaration that was itself readable as ASCII is wrong by construction (WHATWG rule).
  if (declared?.startsWith('utf-16')) declared = 'utf-8';
  const utf16 = detectBomlessUtf16(bytes);
  if (utf16) return { text: decodeWith(bytes, utf16), encoding: utf16 };
  const utf8 = tryUtf8(bytes);
  if (declared && !(declared === 'utf-8' && utf8 === undefined)) {
    return { text: utf8 !== undefined && declared === 'utf-8' ? utf8 : decodeWith(bytes, declared), encoding: declared };
  }
  if (utf8 !== undefined) return { text: utf8, encoding: 'utf-8' };
  const encoding = detectLegacy(bytes);
  return { text: decodeWith(bytes, encoding), encoding };
}
