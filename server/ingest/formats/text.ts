// Plain text: paragraphs are separated by blank lines; hard-wrapped lines are re-joined. Two
// conventions of plain-text documents are recognised: setext-style underlined headings and
// short ALL-CAPS title lines, and bulleted/numbered lines as list items (indentation → level).

import { decodeText } from '../decode.ts';
import type { ParseRun } from '../run.ts';

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

/** Adds the blocks of plain text to the run. */
export function addPlainText(text: string, run: ParseRun): void {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let chunk: string[] = [];
  for (const line of lines) {
    if (line.trim()) {
      chunk.push(line);
      continue;
    }
    addChunk(chunk, run);
    chunk = [];
  }
  addChunk(chunk, run);
}

export function parseText(bytes: Uint8Array, run: ParseRun): { encoding: string } {
  const { text, encoding } = decodeText(bytes);
  addPlainText(text, run);
  return { encoding };
}
