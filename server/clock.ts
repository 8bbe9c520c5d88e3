import { randomBytes } from 'node:crypto';

// Time and randomness come in through these so tests can pin them (expiry, throttling windows,
// token generation) instead of sleeping or guessing.

export interface Clock {
  now(): Date;
}

export interface Random {
  bytes(length: number): Uint8Array;
}

export const systemClock: Clock = { now: () => new Date() };

export const cryptoRandom: Random = { bytes: (length) => new Uint8Array(randomBytes(length)) };
