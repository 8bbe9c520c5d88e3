// XML documents. A JATS/NLM journal article (PubMed Central's format) is read as an article:
// its title, abstract, keywords, sections with their headings, figure and table captions with
// their labels, tables row by row and the references, while journal metadata, affiliations and
// MathML stay out. Any other XML is read as its text, one paragraph per element that holds text.
//
// Safety as for Office parts (../xml.ts): saxes never fetches anything. Articles carry a DOCTYPE
// naming their DTD, which is allowed as long as it declares nothing itself (an internal subset
// is where entity bombs and external entities live); the DTD's named characters (&ndash; …) are
// the HTML ones, which saxes is given.

import { characterEntities } from 'character-entities';
import { SaxesParser } from 'saxes';
import type { ParseRun } from '../run.ts';
import { hasText, markdownTable } from '../table.ts';
import { IngestError, type BlockKind } from '../types.ts';
import { decodeXml } from '../xml.ts';

const CHUNK = 1 << 20;

/** Front matter worth reading; the rest of <front> is journal and author metadata. */
const FRONT_KEPT = new Set(['title-group', 'abstract', 'trans-abstract', 'kwd-group']);
/** Subtrees with no prose in them (formulas would read as symbol soup). */
const SKIPPED = new Set(['mml:math', 'math', 'tex-math', 'alternatives', 'graphic', 'media', 'object-id', 'processing-meta']);
/** JATS elements whose text is one block. */
const JATS_BLOCKS: Record<string, BlockKind> = {
  'article-title': 'heading',
  title: 'heading',
  p: 'paragraph',
  caption: 'caption',
  'list-item': 'list-item',
  ref: 'list-item',
  tr: 'table-row',
  fn: 'paragraph',
  'def-item': 'paragraph',
};
/** Inside these, a nested <p> is part of the enclosing block rather than a block of its own. */
const ABSORBING = new Set(['caption', 'list-item', 'ref', 'fn', 'def-item', 'td', 'th']);

interface Open {
  name: string;
  /** Text of the block this element is (null: not a block). */
  text: string[] | null;
  kind?: BlockKind;
  cells?: string[];
}

export function parseXmlDocument(bytes: Uint8Array, run: ParseRun): { title?: string } {
  const parser = new SaxesParser({ xmlns: false });
  // The HTML named characters cover what the JATS and NLM DTDs define.
  Object.assign(parser.ENTITIES, characterEntities);
  let jats: boolean | undefined;
  let title: string | undefined;
  let skipping = 0;
  let pendingLabel = '';
  /** An abstract without a title of its own is announced as one before its first block. */
  let pendingAbstract = false;
  const keywords: string[] = [];
  const stack: Open[] = [];
  /** Rows of the tables being read, innermost last: a table's Markdown is written when it ends (see ../table.ts). */
  const tables: string[][][] = [];
  const addTable = (rows: string[][]) => {
    for (const text of markdownTable(rows)) add('table-row', text);
  };

  const depthOf = (name: string) => stack.filter((o) => o.name === name).length;
  const within = (name: string) => stack.some((o) => o.name === name);
  const block = () => [...stack].reverse().find((o) => o.text !== null);
  const add = (kind: BlockKind, text: string, extra: { level?: number } = {}) => {
    if (pendingAbstract) {
      pendingAbstract = false;
      run.add('heading', 'Abstract', { level: 2 });
    }
    run.add(kind, text, extra);
  };

  parser.on('error', (error) => {
    throw new IngestError('corrupt', `The XML is not well-formed: ${error.message}`, { cause: error });
  });
  parser.on('doctype', (doctype) => {
    if (doctype.includes('[')) throw new IngestError('unsafe', 'The XML declares entities or elements in its DOCTYPE; refusing it (possible entity expansion or external entity)');
  });
  parser.on('opentag', (tag) => {
    const name = tag.name;
    jats ??= name === 'article';
    const inFront = within('front') && !stack.some((o) => FRONT_KEPT.has(o.name)) && !FRONT_KEPT.has(name) && name !== 'article-meta';
    if (skipping > 0 || SKIPPED.has(name) || (jats && inFront)) {
      skipping++;
      return;
    }
    const enclosing = block();
    if (!jats) {
      // Any other XML: an element boundary separates words.
      enclosing?.text?.push(' ');
      stack.push({ name, text: null });
      return;
    }
    if ((name === 'abstract' || name === 'trans-abstract') && !tag.isSelfClosing) pendingAbstract = true;
    if (name === 'title' && (stack.at(-1)?.name === 'abstract' || stack.at(-1)?.name === 'trans-abstract')) pendingAbstract = false;
    if (name === 'table') tables.push([]);
    const kind = JATS_BLOCKS[name];
    // A cited article's title in a reference is part of the reference, not a heading.
    const absorbed =
      (name === 'p' && enclosing !== undefined && ABSORBING.has(enclosing.name)) ||
      (name === 'title' && enclosing?.name === 'caption') ||
      (name === 'article-title' && !within('title-group'));
    if (kind && !absorbed) {
      stack.push({ name, text: [], kind, ...(name === 'tr' ? { cells: [] } : {}) });
      return;
    }
    enclosing?.text?.push(' ');
    stack.push({ name, text: name === 'td' || name === 'th' || name === 'label' || name === 'kwd' ? [] : null });
  });
  parser.on('text', (text) => {
    if (skipping > 0) return;
    const current = block();
    if (current) current.text!.push(text);
    else if (!jats && text.trim()) {
      // Text under an element no block has claimed yet: that element becomes a paragraph.
      const top = stack.at(-1);
      if (top) top.text = [text];
    }
  });
  parser.on('closetag', (tag) => {
    if (skipping > 0) {
      skipping--;
      return;
    }
    const open = stack.pop();
    if (jats && tag.name === 'table') addTable(tables.pop() ?? []);
    if (jats && tag.name === 'kwd-group' && keywords.length > 0) add('paragraph', `Keywords: ${keywords.splice(0).join('; ')}`);
    if (!open || open.text === null) return;
    const text = open.text.join('');
    if (jats) closeJats(open, text);
    else add('paragraph', text);
  });

  function closeJats(open: Open, text: string): void {
    const { name } = open;
    const parent = block();
    const clean = () => text.replace(/\s+/g, ' ').trim();
    if (name === 'td' || name === 'th') {
      parent?.cells?.push(clean());
    } else if (name === 'label') {
      // "Figure 1", "Table 2", "[12]": kept for the caption or reference it labels.
      if (parent) parent.text?.push(`${text} `);
      else pendingLabel = clean();
    } else if (name === 'kwd') {
      keywords.push(clean());
    } else if (open.kind === 'heading') {
      if (name === 'article-title' && title === undefined) title = clean();
      // The article's title is level 1; sections below it start at 2, a level per nesting.
      add('heading', text, { level: name === 'article-title' ? 1 : Math.min(6, 2 + Math.max(0, depthOf('sec') - 1)) });
    } else if (open.kind === 'table-row') {
      const cells = open.cells ?? [];
      if (!hasText(cells)) return;
      const table = tables.at(-1);
      if (table) table.push(cells);
      else addTable([cells]);
    } else if (open.kind === 'caption') {
      add('caption', `${pendingLabel ? `${pendingLabel}. ` : ''}${text}`);
      pendingLabel = '';
    } else if (open.kind === 'list-item') {
      add('list-item', text, { level: Math.max(0, depthOf('list') - 1) });
    } else {
      add(open.kind ?? 'paragraph', text);
    }
  }

  const xml = decodeXml(bytes);
  for (let at = 0; at < xml.length; at += CHUNK) {
    run.checkpoint();
    parser.write(xml.slice(at, at + CHUNK));
  }
  parser.close();
  return title === undefined ? {} : { title };
}
