// A long, text-heavy PDF built in the test, standing in for the 400-page manuals users upload
// (../shared/docs holds nothing that long). Each page has a heading and a few paragraphs of
// varied prose, so the viewer lays out pages of realistic height; one page carries a sentence
// found nowhere else, for a search hit far into the document.
import { pdf } from '../../server/ingest/testing.ts';

const WORDS = (
  'valve pressure gauge inspect replace gasket torque housing filter seal lever bracket spring assembly ' +
  'bearing shaft lubricate clearance tolerance coupling flange mount rotate tighten loosen align verify ' +
  'record schedule interval operator manual service panel switch circuit breaker relay fuse terminal ' +
  'wire harness connector sensor reading calibrate adjust procedure warning caution note step before after'
).split(' ');

/** Deterministic pseudo-random prose: the same pages on every run. */
function prose(seed: number, words: number): string {
  let x = seed * 2654435761;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(WORDS[x % WORDS.length]!);
  }
  const s = out.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

/** Lines of at most `width` characters. */
function wrap(text: string, width = 95): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export interface LongPdf {
  bytes: Uint8Array;
  pages: number;
}

/** `pages` pages of prose; `special` puts `sentence` as its own paragraph on that page. */
export function longPdf(pages: number, special: { page: number; sentence: string }): LongPdf {
  const escape = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const first = 5;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${Array.from({ length: pages }, (_, i) => `${first + i * 2} 0 R`).join(' ')}] /Count ${pages} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>',
  ];
  for (let p = 1; p <= pages; p++) {
    const paragraphs = [prose(p * 7 + 1, 90), prose(p * 7 + 2, 120), prose(p * 7 + 3, 70), prose(p * 7 + 4, 110)];
    if (p === special.page) paragraphs.splice(2, 0, special.sentence);
    let body = `BT /F2 16 Tf 50 740 Td (Section ${p}: ${WORDS[p % WORDS.length]} ${WORDS[(p * 3) % WORDS.length]}) Tj ET\n`;
    body += 'BT /F1 10 Tf 50 710 Td 13 TL\n';
    for (const para of paragraphs) {
      for (const line of wrap(para)) body += `(${escape(line)}) Tj T*\n`;
      body += 'T*\n';
    }
    body += 'ET';
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${first + (p - 1) * 2 + 1} 0 R >>`);
    objects.push(`<< /Length ${body.length} >>\nstream\n${body}\nendstream`);
  }
  return { bytes: pdf(objects), pages };
}
