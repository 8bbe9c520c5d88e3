// Scans for tests: known text set as an image, so OCR can be checked word for word without
// shipping pictures. The font ships with pdf.js, so the result does not depend on the machine.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';

const FONT = 'Lectern Scan Sans';
let registered = false;

/** A PNG of `lines` in 28 px black type on white, 44 px apart. */
export function textScan(lines: readonly string[]): Buffer {
  if (!registered) {
    const pdfjs = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
    GlobalFonts.registerFromPath(join(pdfjs, 'standard_fonts/LiberationSans-Regular.ttf'), FONT);
    registered = true;
  }
  const canvas = createCanvas(1100, 60 + lines.length * 44);
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#111';
  context.font = `28px "${FONT}"`;
  lines.forEach((line, index) => context.fillText(line, 40, 60 + index * 44));
  return canvas.toBuffer('image/png');
}

/** French with the accents English data misreads (è as é, ç as g, ê as é…). */
export const FRENCH_LINES = [
  'Les élèves âgés de moins de dix-huit ans doivent être',
  'accompagnés à la bibliothèque. Où sont les clés ? Ça dépend',
  'de l’hôpital : les médecins reçoivent après-midi, près du théâtre.',
] as const;

/** The words of `text` (letters in any script), lower-cased. */
export const wordsOf = (text: string): string[] => text.toLowerCase().match(/\p{L}+/gu) ?? [];
