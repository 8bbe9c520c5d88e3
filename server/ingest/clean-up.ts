// What every parse goes through once its format parser is done: pages of drawing instructions
// out (or the document refused when that is all it has), running headers and footers out, and
// the reader told what was repaired or left out.

import { withoutDrawingInstructions } from './gibberish.ts';
import type { ParseRun } from './run.ts';
import { withoutRunningLines } from './running-lines.ts';
import { IngestError } from './types.ts';

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export function cleanUp(run: ParseRun): void {
  const language = withoutDrawingInstructions(run.blocks);
  if (language.blocks.length === 0) {
    throw new IngestError('no_text', 'The document’s text is not language: it reads like PDF drawing instructions (a damaged or unusual file). Save it again as PDF from the program that made it, or print it to PDF.');
  }
  if (language.dropped > 0) {
    run.warnings.push(`${language.dropped} of ${language.pages} ${plural(language.pages, 'page', 'pages')} held PDF drawing instructions instead of text and ${plural(language.dropped, 'was', 'were')} left out`);
  }
  const { blocks } = withoutRunningLines(language.blocks);
  // Replaced in place, element by element: spread as arguments, a long document's blocks would overflow the call.
  run.blocks.length = 0;
  for (const block of blocks) run.blocks.push(block);
  if (run.mojibakeRepaired > 0) {
    run.warnings.push(`Repaired double-encoded characters (such as “Ã¸” for “ø”) in ${run.mojibakeRepaired} ${plural(run.mojibakeRepaired, 'passage', 'passages')}: the text had been read in the wrong encoding before it was saved`);
  }
}
