// Plain text: paragraphs are separated by blank lines; hard-wrapped lines are re-joined. Two
// conventions of plain-text documents are recognised: setext-style underlined headings and
// short ALL-CAPS title lines, and bulleted/numbered lines as list items (indentation → level).
// The file is read a piece at a time and never held whole: a text far over the text limit fails
// once the limit's worth of it has been read.

import { StreamDecoder, textPieces } from '../decode.ts';
import type { ParseRun } from '../run.ts';
import { HEAD_BYTES, type ByteSource } from '../source.ts';

const BULLET = /^([ \t]*)([-*+•◦‣▪·]|\d{1,3}[.)]|[a-z][.)])[ \t]+(?=\S)/;
const UNDERLINE = /^[ \t]*(=+|-+)[ \t]*$/;

function isCapsHeading(line: string): boolean {
  const text = line.trim();
  return text.length <= 80 && /\p{Lu}.*\p{Lu}/u.test(text) && !/\p{Ll}/u.test(text) && !/[.,;:]$/.test(text);
}

const indentOf = (line: string) => line.replace(/\t/g, '    ').search(/\S/);

function addChunk(lines: string[], run: ParseRun): void {
  const [first, second] = lines;
  if (first === undefined) return;
  if (lines.length === 2 && second !== undefined && UNDERLINE.test(second) && second.trim().length >= 3) {
    run.add('heading', first, { level: second.trim().startsWith('=') ? 1 : 2 });
    return;
  }
  if (lines.length === 1 && isCapsHeading(first)) {
    run.add('heading', first, { level: 1 });
    return;
  }
  // Lines this long were not hard-wrapped, so each line break ends a paragraph.
  if (lines.length > 1 && lines.some((l) => l.length > 160)) {
    for (const line of lines) addChunk([line], run);
    return;
  }
  // Indentations of the open list levels, outermost first: depth is a position in this stack.
  const indents: number[] = [];
  let paragraph: string[] = [];
  let item: { text: string[]; indent: number } | undefined;
  const flush = () => {
    if (item) {
      while (indents.length > 0 && (indents.at(-1) ?? 0) > item.indent) indents.pop();
      if (indents.at(-1) !== item.indent) indents.push(item.indent);
      run.add('list-item', item.text.join(' '), { level: indents.length - 1 });
    } else if (paragraph.length > 0) run.add('paragraph', paragraph.join(' '));
    item = undefined;
    paragraph = [];
  };
  for (const line of lines) {
    const bullet = BULLET.exec(line);
    if (bullet) {
      flush();
      item = { text: [line.slice(bullet[0].length)], indent: indentOf(line) };
    } else if (item && indentOf(line) > item.indent) {
      item.text.push(line);
    } else {
      if (item) flush();
      paragraph.push(line);
    }
  }
  flush();
}

/**
 * Text with no blank line for this many characters is cut into blocks here anyway (at a space
 * where there is one): no paragraph anyone wrote is this long, and holding a run of text whole
 * until it ends is what a text bomb counts on.
 */
export const MAX_RUN_CHARS = 1 << 20;

/** Reads plain text, written to it a piece at a time, into the run's blocks. */
export class PlainTextReader {
  readonly #run: ParseRun;
  /** The line not ended yet. */
  #partial = '';
  /** The lines read since the last blank line, and their length. */
  #lines: string[] = [];
  #chars = 0;

  constructor(run: ParseRun) {
    this.#run = run;
  }

  write(text: string): void {
    const all = this.#partial + text;
    // A CR at the very end may be the first half of a CRLF.
    const upTo = all.endsWith('\r') ? all.length - 1 : all.length;
    const lines = all.slice(0, upTo).split(/\r\n?|\n/);
    this.#partial = (lines.pop() ?? '') + all.slice(upTo);
    for (const line of lines) this.#line(line);
    while (this.#partial.length > MAX_RUN_CHARS) {
      const space = this.#partial.lastIndexOf(' ', MAX_RUN_CHARS);
      const cut = space > MAX_RUN_CHARS / 2 ? space : MAX_RUN_CHARS;
      this.#line(this.#partial.slice(0, cut));
      this.#partial = this.#partial.slice(cut);
    }
  }

  end(): void {
    this.#line(this.#partial.replace(/\r$/, ''));
    this.#partial = '';
    this.#flush();
  }

  #line(line: string): void {
    if (!/\S/.test(line)) {
      this.#flush();
      return;
    }
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars > MAX_RUN_CHARS) this.#flush();
  }

  #flush(): void {
    addChunk(this.#lines, this.#run);
    this.#lines = [];
    this.#chars = 0;
  }
}

export async function parseText(source: ByteSource, run: ParseRun): Promise<{ encoding: string }> {
  const decoder = new StreamDecoder(await source.head(HEAD_BYTES));
  const reader = new PlainTextReader(run);
  for await (const text of textPieces(source, decoder, run)) reader.write(text);
  reader.end();
  return { encoding: decoder.encoding };
}
