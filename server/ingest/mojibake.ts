// Double-encoded UTF-8 ("mojibake"): UTF-8 bytes once read as Windows-1252 (or Latin-1) and saved
// again as UTF-8, so "ø" became "Ã¸" and "’" became "â€™". Read back as bytes in that code page,
// such text is valid UTF-8 again. Only byte runs that decode as complete UTF-8 characters are
// repaired, so real accented text ("à…", "Äö") is never touched: those are not valid UTF-8 as bytes.

/** Windows-1252's characters for the bytes 0x80–0x9F (undefined ones keep their C1 code point). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

const BYTE = new Map<string, number>();
for (let i = 0; i < 32; i++) BYTE.set(CP1252_HIGH[i]!, 0x80 + i);
for (let b = 0xa0; b <= 0xff; b++) BYTE.set(String.fromCharCode(b), b);

/** A lead byte's character followed by at least one continuation byte's. */
const SUSPECT = /[\u00c2-\u00f4][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/;
const RUN = /[\u0080-\u00ff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]{2,}/g;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The length of the UTF-8 sequence a lead byte starts, or 0 for a byte no sequence starts with. */
const sequenceLength = (b: number) => (b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0);

function repairRun(run: string): string {
  const chars = [...run];
  const bytes = chars.map((c) => BYTE.get(c)!);
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes[i]!);
    if (length > 0 && i + length <= bytes.length) {
      try {
        out += utf8.decode(Uint8Array.from(bytes.slice(i, i + length)));
        i += length;
        continue;
      } catch {
        // Not a whole character: these bytes were meant as they are.
      }
    }
    out += chars[i];
    i++;
  }
  return out;
}

/** `text` with double-encoded UTF-8 repaired, or null when there was none. */
export function repairMojibake(text: string): string | null {
  if (!SUSPECT.test(text)) return null;
  const repaired = text.replace(RUN, repairRun);
  return repaired === text ? null : repaired;
}
