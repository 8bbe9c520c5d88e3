// Vectors travel through JSON stores and journals as base64 of their Float32 bytes (little-endian):
// a third of the size of a number array, and exact.

export function encodeVector(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

/** Copies into a fresh buffer: a decoded Buffer may sit at an offset a Float32Array cannot start at. Malformed input gives an empty vector. */
export function decodeVector(value: string): Float32Array {
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  return bytes.length % 4 === 0 ? new Float32Array(bytes.buffer) : new Float32Array(0);
}
