// A deliberately small ZIP reader for Office containers. It reads the central directory, then
// inflates only the parts asked for, with a budget: declared sizes are checked up front, and the
// actual inflated bytes are capped by zlib itself (`maxOutputLength`) because declared sizes are
// attacker-controlled. Nothing is inflated that the caller did not request.

import { crc32, inflateRawSync } from 'node:zlib';
import { IngestError } from './types.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

const corrupt = (what: string) => new IngestError('corrupt', `The ZIP container is damaged or truncated (${what})`);

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt('64-bit field out of range');
  return Number(value);
}

function findEndOfCentralDirectory(dv: DataView): number {
  const last = dv.byteLength - 22;
  for (let at = last; at >= 0 && at >= last - 0xffff; at--) {
    if (dv.getUint32(at, true) === EOCD) return at;
  }
  throw corrupt('no end-of-central-directory record');
}

/** Reads the central directory. Throws `corrupt` when the structure does not hold together. */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const dv = view(bytes);
  const eocd = findEndOfCentralDirectory(dv);
  let count = dv.getUint16(eocd + 10, true);
  let offset = dv.getUint32(eocd + 16, true);
  if ((count === 0xffff || offset === U32_MAX) && eocd >= 20 && dv.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const record = u64(dv, eocd - 12);
    if (record + 56 > dv.byteLength || dv.getUint32(record, true) !== ZIP64_EOCD) throw corrupt('bad ZIP64 record');
    count = u64(dv, record + 32);
    offset = u64(dv, record + 48);
  }
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dv.byteLength || dv.getUint32(at, true) !== CENTRAL) throw corrupt('bad central directory entry');
    const nameLength = dv.getUint16(at + 28, true);
    const extraLength = dv.getUint16(at + 30, true);
    const commentLength = dv.getUint16(at + 32, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > dv.byteLength) throw corrupt('central directory runs past the end');
    const flags = dv.getUint16(at + 8, true);
    const entry: ZipEntry = {
      name: new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(at + 46, at + 46 + nameLength)),
      method: dv.getUint16(at + 10, true),
      flags,
      crc32: dv.getUint32(at + 16, true),
      compressedSize: dv.getUint32(at + 20, true),
      uncompressedSize: dv.getUint32(at + 24, true),
      localHeaderOffset: dv.getUint32(at + 42, true),
    };
    readZip64Extra(dv, at + 46 + nameLength, extraLength, entry);
    entries.push(entry);
    at = end;
  }
  return entries;
}

/** ZIP64 keeps the real values of saturated 32-bit fields in extra field 0x0001, in fixed order. */
function readZip64Extra(dv: DataView, start: number, length: number, entry: ZipEntry): void {
  for (let at = start; at + 4 <= start + length; ) {
    const id = dv.getUint16(at, true);
    const size = dv.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      for (const key of ['uncompressedSize', 'compressedSize', 'localHeaderOffset'] as const) {
        if (entry[key] !== U32_MAX) continue;
        if (field + 8 > at + 4 + size) throw corrupt('short ZIP64 extra field');
        entry[key] = u64(dv, field);
        field += 8;
      }
    }
    at += 4 + size;
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** Inflates requested entries while keeping a running total against one uncompressed budget. */
export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  readonly #bytes: Uint8Array;
  readonly #budget: number;
  #used = 0;

  constructor(bytes: Uint8Array, maxUncompressedBytes: number) {
    this.#bytes = bytes;
    this.#budget = maxUncompressedBytes;
    const entries = readZipDirectory(bytes);
    this.entries = new Map(entries.map((entry) => [entry.name, entry]));
    const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
    if (declared > maxUncompressedBytes) {
      throw new IngestError(
        'too_large',
        `The ZIP container expands to ${mb(declared)} (${(declared / Math.max(1, bytes.length)).toFixed(0)}× its size), over the ${mb(maxUncompressedBytes)} limit`,
      );
    }
  }

  /** The entry's bytes, or undefined when absent. Throws `too_large` past the budget, `corrupt` on damage. */
  read(name: string): Uint8Array | undefined {
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    if (entry.flags & 0x1) throw new IngestError('encrypted', `ZIP entry ${name} is encrypted`);
    const dv = view(this.#bytes);
    const local = entry.localHeaderOffset;
    if (local + 30 > dv.byteLength || dv.getUint32(local, true) !== LOCAL) throw corrupt(`bad local header for ${name}`);
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + entry.compressedSize > dv.byteLength) throw corrupt(`${name} runs past the end`);
    const raw = this.#bytes.subarray(start, start + entry.compressedSize);
    const remaining = this.#budget - this.#used;
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      data = this.#inflate(raw, name, remaining);
    } else {
      throw new IngestError('unsupported_type', `ZIP entry ${name} uses unsupported compression method ${entry.method}`);
    }
    if (data.length > remaining) this.#overBudget(name, data.length);
    if (data.length !== entry.uncompressedSize || crc32(data) !== entry.crc32) {
      throw corrupt(`${name} does not match its recorded size or checksum`);
    }
    this.#used += data.length;
    return data;
  }

  #inflate(raw: Uint8Array, name: string, remaining: number): Uint8Array {
    try {
      return inflateRawSync(raw, { maxOutputLength: Math.max(1, remaining + 1) });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return this.#overBudget(name, remaining + 1);
      throw new IngestError('corrupt', `The ZIP container is damaged or truncated (${name} does not inflate)`, {
        cause: error,
      });
    }
  }

  #overBudget(name: string, atLeast: number): never {
    throw new IngestError(
      'too_large',
      `${name} expands to more than ${mb(atLeast)} uncompressed, over the ${mb(this.#budget)} limit for the whole container`,
    );
  }
}
