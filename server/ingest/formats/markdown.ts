// Markdown via micromark/mdast with GFM (tables, task lists, footnotes, strikethrough). Inline
// markup is stripped to its visible text (links keep their text, images their alt text); raw
// HTML blocks go through the HTML extractor.
//
// The file is decoded a piece at a time and parsed a section at a time (MarkdownSections): the
// syntax tree costs some 70 bytes per character of its source, so a long document parsed whole
// ran out of memory long before its text reached the text limit.

import type { Nodes } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { StreamDecoder, textPieces } from '../decode.ts';
import { traverse, type ParseRun } from '../run.ts';
import { HEAD_BYTES, type ByteSource } from '../source.ts';
import { hasText, markdownTable } from '../table.ts';
import { htmlFragmentToBlocks } from './html.ts';

const childrenOf = (node: Nodes): readonly Nodes[] | undefined => ('children' in node ? node.children : undefined);

/** Visible text of phrasing content. */
function inline(node: Nodes): string {
  let text = '';
  traverse(node, childrenOf, (n) => {
    if (n.type === 'text' || n.type === 'inlineCode') text += n.value;
    else if (n.type === 'image' || n.type === 'imageReference') text += n.alt ?? '';
    else if (n.type === 'break' || (n.type === 'html' && /^<br\b/i.test(n.value))) text += ' ';
    return true;
  }, () => {});
  return text;
}

/** YAML front matter is metadata, not content; its `title` is the document's title. */
export function splitFrontMatter(text: string): { body: string; title?: string } {
  const match = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match) return { body: text };
  const title = /^title:[ \t]*(.+)$/m.exec(match[1] ?? '')?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2');
  const body = text.slice(match[0].length);
  return title ? { body, title } : { body };
}

/** A section at least this long is cut off at the last place where it can be (see MarkdownSections). */
export const SECTION_CHARS = 1 << 18;
/** With no such place this far in (an endless code block), a section is cut at a blank line or anywhere. */
const MAX_SECTION_CHARS = 4 * SECTION_CHARS;

// HTML blocks that run to an end marker rather than to a blank line (CommonMark kinds 1 to 5).
const HTML_BLOCKS: ReadonlyArray<readonly [start: RegExp, end: RegExp]> = [
  [/^ {0,3}<(?:script|pre|style|textarea)(?=[\s>]|$)/i, /<\/(?:script|pre|style|textarea)>/i],
  [/^ {0,3}<!--/, /-->/],
  [/^ {0,3}<\?/, /\?>/],
  [/^ {0,3}<!\[CDATA\[/, /\]\]>/],
  [/^ {0,3}<![A-Za-z]/, />/],
];
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/**
 * Cuts Markdown text, written to it a piece at a time, into sections that parse alone the way
 * they would in place: each cut is before an unindented line that follows a blank line, outside
 * front matter, fenced code and the HTML blocks that may hold blank lines, where every block
 * before has ended and a new top-level one starts. A document shorter than SECTION_CHARS is one
 * section. In longer ones a reference-style link or footnote whose definition lies in another
 * section keeps its brackets, and a list that runs over a cut is two lists with the same items.
 */
export class MarkdownSections {
  #buffer = '';
  #atStart = true;

  /** Adds text; returns the sections completed by it. */
  write(text: string): string[] {
    this.#buffer += text;
    const sections: string[] = [];
    while (this.#buffer.length >= SECTION_CHARS) {
      const cut = this.#cut();
      if (cut <= 0) break;
      sections.push(this.#buffer.slice(0, cut));
      this.#buffer = this.#buffer.slice(cut);
      this.#atStart = false;
    }
    return sections;
  }

  /** The last section. */
  end(): string[] {
    const rest = this.#buffer;
    this.#buffer = '';
    return rest ? [rest] : [];
  }

  /**
   * Where to cut the buffer: the first safe place past SECTION_CHARS; once the buffer reaches
   * MAX_SECTION_CHARS without one, the last safe place before it, else the last blank line, else
   * the last line break, else anywhere; otherwise 0, to wait for more text.
   */
  #cut(): number {
    const text = this.#buffer;
    const limit = Math.min(text.length, MAX_SECTION_CHARS);
    let front = this.#atStart && /^---[ \t]*\r?\n/.test(text);
    let fence: string | undefined;
    let htmlEnd: RegExp | undefined;
    let blankBefore = false;
    let safe = 0;
    let afterBlank = 0;
    let afterLine = 0;
    for (let at = 0; at < limit; ) {
      const newline = text.indexOf('\n', at);
      const line = text.slice(at, newline < 0 ? text.length : newline).replace(/\r$/, '');
      if (at > 0 && blankBefore) {
        afterBlank = at;
        if (!front && !fence && !htmlEnd && !/^[ \t]/.test(line)) {
          if (at >= SECTION_CHARS) return at;
          safe = at;
        }
      }
      // The last line may not be complete yet: what it is decides nothing before it.
      if (newline < 0) break;
      if (front) {
        if (at > 0 && /^(?:---|\.\.\.)[ \t]*$/.test(line)) front = false;
      } else if (fence) {
        const close = FENCE_CLOSE.exec(line)?.[1];
        if (close && close[0] === fence[0] && close.length >= fence.length) fence = undefined;
      } else if (htmlEnd) {
        if (htmlEnd.test(line)) htmlEnd = undefined;
      } else {
        const open = FENCE_OPEN.exec(line);
        if (open && !(open[1]?.startsWith('`') && open[2]?.includes('`'))) fence = open[1];
        else {
          for (const [start, end] of HTML_BLOCKS) {
            const started = start.exec(line);
            if (!started) continue;
            if (!end.test(line.slice(started[0].length))) htmlEnd = end;
            break;
          }
        }
      }
      blankBefore = !/\S/.test(line);
      at = newline + 1;
      if (at <= MAX_SECTION_CHARS) afterLine = at;
    }
    if (text.length < MAX_SECTION_CHARS) return 0;
    return safe || afterBlank || afterLine || MAX_SECTION_CHARS;
  }
}

export async function parseMarkdown(source: ByteSource, run: ParseRun): Promise<{ title?: string; encoding: string }> {
  const decoder = new StreamDecoder(await source.head(HEAD_BYTES));
  const sections = new MarkdownSections();
  let first = true;
  let title: string | undefined;
  const parseSection = (section: string) => {
    let body = section;
    if (first) {
      const front = splitFrontMatter(section);
      body = front.body;
      title = front.title;
      first = false;
    }
    title = addSection(body, run, title);
  };
  for await (const text of textPieces(source, decoder, run)) sections.write(text).forEach(parseSection);
  sections.end().forEach(parseSection);
  const encoding = decoder.encoding;
  return title === undefined ? { encoding } : { title, encoding };
}

/** Adds the blocks of one section; returns the document's title, the first level-1 heading's unless it has one. */
function addSection(markdown: string, run: ParseRun, documentTitle: string | undefined): string | undefined {
  let title = documentTitle;
  const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  run.checkpoint();
  let listDepth = 0;
  let itemDepth = 0;
  traverse<Nodes>(
    tree,
    childrenOf,
    (node) => {
      switch (node.type) {
        case 'heading': {
          const heading = inline(node);
          if (node.depth === 1 && title === undefined && heading.trim()) title = heading.trim();
          run.add('heading', heading, { level: node.depth });
          return false;
        }
        case 'paragraph':
          if (itemDepth > 0) run.add('list-item', inline(node), { level: listDepth - 1 });
          else run.add('paragraph', inline(node));
          return false;
        case 'code':
          run.add('code', node.value);
          return false;
        case 'html':
          htmlFragmentToBlocks(node.value, run);
          return false;
        case 'table': {
          // Kept a Markdown table, cells stripped of inline markup like all other text, columns aligned as written.
          const rows = node.children.map((row) => row.children.map((cell) => inline(cell))).filter(hasText);
          for (const text of markdownTable(rows, node.align ?? [])) run.add('table-row', text);
          return false;
        }
        case 'list':
          listDepth++;
          return true;
        case 'listItem':
          itemDepth++;
          return true;
        case 'blockquote':
        case 'root':
        case 'footnoteDefinition':
          return true;
        default:
          return false;
      }
    },
    (node) => {
      if (node.type === 'list') listDepth--;
      else if (node.type === 'listItem') itemDepth--;
    },
  );
  return title;
}
