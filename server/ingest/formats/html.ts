// HTML via parse5 (the WHATWG algorithm, so broken markup parses the way a browser would).
// Page chrome is dropped, block elements become blocks, and tables are told apart: data tables
// yield one `table-row` per row as Markdown table text (see ../table.ts), layout tables (cells holding headings or nested tables) are
// read as ordinary content.

import { parse, parseFragment, type DefaultTreeAdapterTypes as T } from 'parse5';
import { StreamDecoder, textPieces } from '../decode.ts';
import { traverse, type ParseRun } from '../run.ts';
import { HEAD_BYTES, type ByteSource } from '../source.ts';
import { markdownTable } from '../table.ts';
import { IngestError, type BlockKind } from '../types.ts';

type Node = T.Node;
type Element = T.Element;

const SKIPPED = new Set([
  'head', 'script', 'style', 'noscript', 'template', 'nav', 'footer', 'aside', 'svg', 'math', 'iframe',
  'object', 'embed', 'canvas', 'button', 'select', 'textarea', 'input', 'dialog', 'map', 'audio', 'video',
]);
const CHROME_ROLES = new Set(['navigation', 'banner', 'contentinfo', 'search', 'complementary', 'menu', 'menubar']);
// Class-name words that mark site chrome in common CMS/wiki themes ("vector-menu-content",
// "navbar-top", "mw-editsection" for "[edit]" links, print-hidden boxes, cookie banners).
const CHROME_WORDS = new Set([
  'menu', 'dropdown', 'navbar', 'navigation', 'breadcrumb', 'breadcrumbs', 'sidebar', 'toolbar', 'cookie', 'portlet',
  'noprint', 'editsection', 'navbox', 'skip', 'jump',
]);
const BLOCKS = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'blockquote', 'dd', 'dt', 'dl', 'address', 'figure', 'body',
  'form', 'fieldset', 'details', 'summary', 'center', 'hgroup', 'ul', 'ol', 'menu', 'table', 'tbody', 'thead',
  'tfoot', 'hr', 'legend',
]);

function attr(el: Element, name: string): string | undefined {
  return el.attrs.find((a) => a.name === name)?.value;
}

function isElement(node: Node): node is Element {
  return 'tagName' in node;
}

function childrenOf(node: Node): Node[] | undefined {
  return 'childNodes' in node ? node.childNodes : undefined;
}

function hidden(el: Element): boolean {
  if (SKIPPED.has(el.tagName)) return true;
  if (el.attrs.some((a) => a.name === 'hidden') || attr(el, 'aria-hidden') === 'true') return true;
  if (CHROME_ROLES.has(attr(el, 'role') ?? '')) return true;
  if (/display\s*:\s*none/i.test(attr(el, 'style') ?? '')) return true;
  // Root containers carry theme feature flags ("vector-feature-main-menu-pinned") in their classes.
  if (el.tagName === 'html' || el.tagName === 'body' || el.tagName === 'main' || el.tagName === 'article') return false;
  const classes = attr(el, 'class');
  return classes !== undefined && classes.split(/[\s_-]+/).some((word) => CHROME_WORDS.has(word.toLowerCase()));
}

/** Layout tables hold page structure rather than records; their cells are read as content. */
function isLayoutTable(table: Element): boolean {
  if (attr(table, 'role') === 'presentation') return true;
  let layout = false;
  let textLength = 0;
  traverse<Node>(table, childrenOf, (node) => {
    if (layout) return false;
    if (isElement(node)) {
      if (node !== table && (node.tagName === 'table' || /^h[1-6]$/.test(node.tagName))) layout = true;
      return !hidden(node);
    }
    if (node.nodeName === '#text') textLength += (node as T.TextNode).value.length;
    return false;
  }, () => {});
  // A "table" wrapping a whole article is layout even without headings.
  return layout || textLength > 20_000;
}

interface Context {
  kind: BlockKind;
  level?: number;
  /** Set for the `tr` of a data table: the row's cells collect here instead of becoming blocks. */
  cells?: string[];
}

/** Emits the blocks of an HTML document or fragment into the run; returns the <title>, if any. */
export function htmlToBlocks(root: Node, run: ParseRun): string | undefined {
  let title: string | undefined;
  const contexts: Context[] = [{ kind: 'paragraph' }];
  const layoutTables = new Set<Element>();
  // Data tables being read, innermost last: their rows wait for the table's end (see ../table.ts).
  const dataTables: Array<{ owner: Element; rows: string[][] }> = [];
  const addTable = (rows: string[][]) => {
    for (const text of markdownTable(rows)) run.add('table-row', text);
  };
  let buffer = '';
  let inPre = 0;
  // The data-table cell being collected; blocks nested in it only add to its text.
  let cell: { owner: Element; text: string } | undefined;

  const flush = (): void => {
    const context = contexts.at(-1);
    if (cell) cell.text += ` ${buffer}`;
    else if (context && buffer.trim()) run.add(context.kind, buffer, context.level === undefined ? {} : { level: context.level });
    buffer = '';
  };
  const openBlock = (context: Context): void => {
    flush();
    contexts.push(context);
  };
  const blockFor = (el: Element): Context | undefined => {
    const tag = el.tagName;
    if (/^h[1-6]$/.test(tag)) return { kind: 'heading', level: Number(tag[1]) };
    if (tag === 'li') return { kind: 'list-item', level: contexts.filter((c) => c.kind === 'list-item').length };
    if (tag === 'pre') return { kind: 'code' };
    if (tag === 'caption' || tag === 'figcaption') return { kind: 'caption' };
    if (tag === 'tr' && !inLayout(el)) return { kind: 'table-row', cells: [] };
    if (BLOCKS.has(tag) || tag === 'tr' || tag === 'td' || tag === 'th') return { kind: 'paragraph' };
    return undefined;
  };
  const opened = new Set<Element>();

  traverse<Node>(
    root,
    (node) => (node.nodeName === 'template' ? undefined : childrenOf(node)),
    (node) => {
      if (node.nodeName === '#text') {
        const value = (node as T.TextNode).value;
        buffer += inPre ? value : value.replace(/\s+/g, ' ');
        return false;
      }
      if (!isElement(node)) return node.nodeName === '#document' || node.nodeName === '#document-fragment';
      const tag = node.tagName;
      if (tag === 'head') title ??= findTitle(node);
      if (hidden(node)) return false;
      if (tag === 'br') buffer += inPre ? '\n' : ' ';
      if (tag === 'pre') inPre++;
      if (tag === 'table' && isLayoutTable(node)) layoutTables.add(node);
      else if (tag === 'table') dataTables.push({ owner: node, rows: [] });
      const row = contexts.at(-1)?.cells;
      if ((tag === 'td' || tag === 'th') && row && !cell) {
        flush();
        cell = { owner: node, text: '' };
        return true;
      }
      const context = blockFor(node);
      if (context) {
        openBlock(context);
        opened.add(node);
      }
      return true;
    },
    (node) => {
      if (!isElement(node)) return;
      if (node === cell?.owner) {
        flush();
        // A cell spanning columns leaves the ones it covers empty, so later cells stay under their headers.
        const span = Math.min(64, Math.max(1, Number.parseInt(attr(node, 'colspan') ?? '1', 10) || 1));
        contexts.at(-1)?.cells?.push(cell.text.replace(/\s+/g, ' ').trim(), ...Array.from({ length: span - 1 }, () => ''));
        cell = undefined;
        return;
      }
      if (node.tagName === 'pre') inPre--;
      if (!opened.delete(node)) return;
      flush();
      const cells = contexts.pop()?.cells;
      if (cells?.some(Boolean)) {
        const table = dataTables.at(-1);
        if (table) table.rows.push(cells);
        else addTable([cells]);
      }
      if (node === dataTables.at(-1)?.owner) addTable(dataTables.pop()!.rows);
    },
  );
  flush();
  return title;

  function inLayout(tr: Element): boolean {
    let parent = tr.parentNode;
    while (parent && isElement(parent) && parent.tagName !== 'table') parent = parent.parentNode;
    return parent !== null && isElement(parent) && layoutTables.has(parent);
  }
}

function findTitle(head: Element): string | undefined {
  const el = head.childNodes.find((n): n is Element => isElement(n) && n.tagName === 'title');
  return el ? textOf(el) || undefined : undefined;
}

function textOf(node: Node): string {
  let text = '';
  traverse<Node>(node, childrenOf, (n) => {
    if (n.nodeName === '#text') text += (n as T.TextNode).value;
    return true;
  }, () => {});
  return text.replace(/\s+/g, ' ').trim();
}

/** The charset an HTML document declares in its first 1024 bytes (the WHATWG prescan window). */
export function declaredCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  return /<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i.exec(head)?.[1];
}

/**
 * HTML is parsed whole (the tree decides what is content), so the markup itself is held to the
 * text limit: it is decoded a piece at a time and refused as soon as it passes the limit, before
 * the rest is read or any of it parsed.
 */
export async function parseHtml(source: ByteSource, run: ParseRun): Promise<{ title?: string; encoding: string }> {
  const head = await source.head(HEAD_BYTES);
  const decoder = new StreamDecoder(head, { declared: declaredCharset(head) });
  const limit = run.limits.maxTextChars;
  const pieces: string[] = [];
  let length = 0;
  for await (const text of textPieces(source, decoder, run)) {
    length += text.length;
    if (length > limit) {
      const n = limit.toLocaleString('en');
      throw new IngestError('too_large', `The HTML is more than ${n} characters long; HTML is read whole, so its markup counts against the ${n}-character text limit`);
    }
    pieces.push(text);
  }
  const html = pieces.join('');
  pieces.length = 0;
  const title = htmlToBlocks(parse(html), run);
  const encoding = decoder.encoding;
  return title === undefined ? { encoding } : { title, encoding };
}

/** For HTML embedded in other formats (raw HTML blocks in Markdown). */
export function htmlFragmentToBlocks(html: string, run: ParseRun): void {
  htmlToBlocks(parseFragment(html), run);
}
