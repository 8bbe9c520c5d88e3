// DOCX (WordprocessingML): word/document.xml walked as a SAX stream, with styles.xml deciding
// which paragraphs are headings or list items and numbering.xml confirming list membership.
// Only the parts named here are ever inflated, each against the container's budget.

import type { ParseRun } from '../run.ts';
import { IngestError, type PageInfo } from '../types.ts';
import { parseXml, type XmlHandlers } from '../xml.ts';
import { ZipReader } from '../zip.ts';
import { hasText, markdownTable } from '../table.ts';
import { DocxPages, type PagePlace } from './docx-pages.ts';

const ALIASES: Record<string, string> = {
  'http://schemas.openxmlformats.org/wordprocessingml/2006/main': 'w',
  'http://purl.oclc.org/ooxml/wordprocessingml/main': 'w',
  'http://schemas.openxmlformats.org/markup-compatibility/2006': 'mc',
  'http://purl.org/dc/elements/1.1/': 'dc',
};

interface StyleProps {
  basedOn?: string;
  heading?: number;
  title?: boolean;
  caption?: boolean;
  outline?: number;
  numId?: string;
  ilvl?: number;
}

interface Paragraph {
  parts: string[];
  /** Where its first text was read. */
  at?: PagePlace;
  /** It ends a section (w:sectPr in its properties) that the next one starts on a new page. */
  sectionBreak?: boolean;
  style?: string;
  outline?: number;
  numId?: string;
  ilvl?: number;
}

interface Cell {
  parts: string[];
  span: number;
  vMerge?: 'restart' | 'continue';
}

interface Table {
  /** Text of the cell that started a vertical merge, by grid column, repeated into the rows it spans. */
  vertical: Map<number, string>;
  cells: Cell[];
  /** Grid columns the current row leaves out before its first cell (w:gridBefore). */
  skip: number;
  /** Where the current row's first text was read. */
  rowAt?: PagePlace;
  /** Rows read so far, kept until the table ends: its Markdown needs the widest row's column count. */
  rows: Array<{ cells: string[]; at: PagePlace }>;
}

// Tracked-change history, alternate renderings and moved-from copies would duplicate or resurrect text.
const SKIPPED = new Set(['mc:Fallback', 'w:pPrChange', 'w:rPrChange', 'w:del', 'w:moveFrom', 'w:delText', 'w:instrText']);

/** Values that turn a WordprocessingML on/off property off. */
const OFF = new Set(['0', 'false', 'off']);

const int = (value: string | undefined): number | undefined => {
  const n = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : undefined;
};

/** Reads a part's elements while ignoring everything inside skipped subtrees. */
function walk(zip: ZipReader, part: string, run: ParseRun, handlers: Required<XmlHandlers>): boolean {
  const bytes = zip.read(part);
  if (!bytes) return false;
  let skipping = 0;
  parseXml(bytes, part, { aliases: ALIASES, checkpoint: () => run.checkpoint() }, {
    open(name, attributes) {
      if (skipping > 0 || SKIPPED.has(name)) skipping++;
      else handlers.open(name, attributes);
    },
    close(name) {
      if (skipping > 0) skipping--;
      else handlers.close(name);
    },
    text(text) {
      if (skipping === 0) handlers.text(text);
    },
  });
  return true;
}

function readStyles(zip: ZipReader, run: ParseRun): { styles: Map<string, StyleProps>; defaultStyle?: string } {
  const styles = new Map<string, StyleProps>();
  let current: StyleProps | undefined;
  let defaultStyle: string | undefined;
  walk(zip, 'word/styles.xml', run, {
    open(name, a) {
      if (name === 'w:style') {
        current = a['w:type'] === 'paragraph' ? {} : undefined;
        const id = a['w:styleId'];
        if (current && id !== undefined) {
          styles.set(id, current);
          if (a['w:default'] === '1' || a['w:default'] === 'true') defaultStyle = id;
        }
        return;
      }
      if (!current) return;
      const val = a['w:val'];
      if (name === 'w:name' && val) {
        const heading = /^heading\s*([1-9])$/i.exec(val.trim());
        if (heading?.[1]) current.heading = Number(heading[1]);
        if (/^title$/i.test(val.trim())) current.title = true;
        if (/^caption$/i.test(val.trim())) current.caption = true;
      } else if (name === 'w:basedOn') current.basedOn = val;
      else if (name === 'w:outlineLvl') current.outline = int(val);
      else if (name === 'w:numId') current.numId = val;
      else if (name === 'w:ilvl') current.ilvl = int(val);
    },
    close(name) {
      if (name === 'w:style') current = undefined;
    },
    text() {},
  });
  return { styles, defaultStyle };
}

/** numId → (level → number format); a numId missing here is a dangling reference, not a list. */
function readNumbering(zip: ZipReader, run: ParseRun): Map<string, Map<number, string>> {
  const abstract = new Map<string, Map<number, string>>();
  const numToAbstract = new Map<string, string>();
  let abstractId: string | undefined;
  let numId: string | undefined;
  let level: number | undefined;
  walk(zip, 'word/numbering.xml', run, {
    open(name, a) {
      if (name === 'w:abstractNum') {
        abstractId = a['w:abstractNumId'];
        if (abstractId !== undefined) abstract.set(abstractId, new Map());
      } else if (name === 'w:num') numId = a['w:numId'];
      else if (name === 'w:abstractNumId' && numId !== undefined && a['w:val'] !== undefined) {
        numToAbstract.set(numId, a['w:val']);
      } else if (name === 'w:lvl') level = int(a['w:ilvl']);
      else if (name === 'w:numFmt' && abstractId !== undefined && level !== undefined) {
        abstract.get(abstractId)?.set(level, a['w:val'] ?? 'decimal');
      }
    },
    close(name) {
      if (name === 'w:abstractNum') abstractId = undefined;
      else if (name === 'w:num') numId = undefined;
      else if (name === 'w:lvl') level = undefined;
    },
    text() {},
  });
  const result = new Map<string, Map<number, string>>();
  for (const [num, abs] of numToAbstract) result.set(num, abstract.get(abs) ?? new Map());
  return result;
}

function readCoreTitle(zip: ZipReader, run: ParseRun): string | undefined {
  let inTitle = false;
  let title = '';
  walk(zip, 'docProps/core.xml', run, {
    open(name) {
      inTitle = name === 'dc:title';
    },
    close() {
      inTitle = false;
    },
    text(text) {
      if (inTitle) title += text;
    },
  });
  return title.trim() || undefined;
}

export async function parseDocx(bytes: Uint8Array, run: ParseRun): Promise<{ title?: string; pages?: PageInfo[] }> {
  const zip = new ZipReader(bytes, run.limits.maxUncompressedBytes);
  if (!zip.entries.has('word/document.xml')) throw new IngestError('corrupt', 'The DOCX has no word/document.xml');
  const { styles, defaultStyle } = readStyles(zip, run);
  const numbering = readNumbering(zip, run);
  let title = readCoreTitle(zip, run);

  const resolved = new Map<string | undefined, StyleProps>();
  const resolve = (id: string | undefined): StyleProps => {
    const cached = resolved.get(id);
    if (cached) return cached;
    const merged: StyleProps = {};
    resolved.set(id, merged);
    for (let depth = 0, at = id ?? defaultStyle; at !== undefined && depth < 20; depth++) {
      const style = styles.get(at);
      if (!style) break;
      for (const key of ['heading', 'title', 'caption', 'outline', 'numId', 'ilvl'] as const) {
        if (merged[key] === undefined && style[key] !== undefined) Object.assign(merged, { [key]: style[key] });
      }
      at = style.basedOn;
    }
    return merged;
  };

  const pages = new DocxPages();
  const add = (place: PagePlace, ...args: Parameters<ParseRun['add']>): void => {
    const before = run.blocks.length;
    run.add(...args);
    if (run.blocks.length > before) pages.place(run.blocks.at(-1), place);
  };

  const emit = (p: Paragraph): void => {
    const text = p.parts.join('');
    const at = p.at ?? pages.here();
    const style = resolve(p.style);
    const outline = p.outline ?? style.outline;
    const heading = style.heading ?? (style.title ? 1 : outline !== undefined && outline < 9 ? outline + 1 : undefined);
    if (heading !== undefined) {
      if (style.title && title === undefined && text.trim()) title = text.trim();
      add(at, 'heading', text, { level: Math.min(6, heading) });
      return;
    }
    const numId = p.numId ?? style.numId;
    const level = p.ilvl ?? style.ilvl ?? 0;
    const format = numId === undefined ? undefined : numbering.get(numId);
    if (format && format.get(level) !== 'none') add(at, 'list-item', text, { level });
    else add(at, style.caption ? 'caption' : 'paragraph', text);
  };

  const paragraphs: Paragraph[] = [];
  const tables: Table[] = [];
  let cell: Cell | undefined;
  let inText = false;
  let inProps = false;
  const top = () => paragraphs.at(-1);
  const append = (text: string) => {
    const p = top();
    if (!p) return;
    if (text.trim()) {
      p.at ??= pages.here();
      pages.text();
    }
    p.parts.push(text);
  };

  walk(zip, 'word/document.xml', run, {
    open(name, a) {
      const p = top();
      switch (name) {
        case 'w:p':
          paragraphs.push({ parts: [] });
          break;
        case 'w:t':
          inText = true;
          break;
        case 'w:br':
          if (a['w:type'] === 'page') pages.explicit();
          append(' ');
          break;
        case 'w:tab':
        case 'w:cr':
          append(' ');
          break;
        case 'w:lastRenderedPageBreak':
          pages.rendered();
          break;
        case 'w:pageBreakBefore':
          if (!OFF.has(a['w:val'] ?? 'true')) pages.explicit();
          break;
        case 'w:pPr':
          inProps = true;
          break;
        case 'w:sectPr':
          // In a paragraph's properties it ends a section; the body's last one ends the document.
          if (inProps && p) p.sectionBreak = true;
          break;
        case 'w:type':
          // A continuous (or next-column) section goes on on the same page.
          if (p?.sectionBreak && (a['w:val'] === 'continuous' || a['w:val'] === 'nextColumn')) p.sectionBreak = false;
          break;
        case 'w:noBreakHyphen':
          append('-');
          break;
        case 'w:pStyle':
          if (p) p.style = a['w:val'];
          break;
        case 'w:outlineLvl':
          if (p) p.outline = int(a['w:val']);
          break;
        case 'w:numId':
          if (p) p.numId = a['w:val'];
          break;
        case 'w:ilvl':
          if (p) p.ilvl = int(a['w:val']);
          break;
        case 'w:tbl':
          tables.push({ vertical: new Map(), cells: [], skip: 0, rows: [] });
          break;
        case 'w:tc':
          cell = { parts: [], span: 1 };
          tables.at(-1)?.cells.push(cell);
          break;
        case 'w:gridBefore': {
          const table = tables.at(-1);
          if (table) table.skip = Math.max(0, int(a['w:val']) ?? 0);
          break;
        }
        case 'w:gridSpan':
          if (cell) cell.span = Math.max(1, int(a['w:val']) ?? 1);
          break;
        case 'w:vMerge':
          if (cell) cell.vMerge = a['w:val'] === 'restart' ? 'restart' : 'continue';
          break;
      }
    },
    close(name) {
      if (name === 'w:t') inText = false;
      else if (name === 'w:pPr') inProps = false;
      else if (name === 'w:p') {
        const p = paragraphs.pop();
        // Paragraphs inside a table cell (or a text box inside one) become part of that cell's text.
        if (p && cell && paragraphs.length === 0) {
          cell.parts.push(p.parts.join(''));
          const table = tables.at(-1);
          if (table && p.at) table.rowAt ??= p.at;
        } else if (p) emit(p);
        if (p?.sectionBreak) pages.explicit();
      } else if (name === 'w:tr') closeRow();
      else if (name === 'w:tbl') {
        const table = tables.pop();
        if (table) {
          const texts = markdownTable(table.rows.map((r) => r.cells));
          table.rows.forEach((r, i) => add(r.at, 'table-row', texts[i]!));
        }
        cell = tables.at(-1)?.cells.at(-1);
      }
    },
    text(text) {
      if (inText) append(text);
    },
  });

  function closeRow(): void {
    const table = tables.at(-1);
    if (!table) return;
    const texts: string[] = Array.from({ length: Math.min(table.skip, 64) }, () => '');
    let column = table.skip;
    for (const c of table.cells) {
      let text = c.parts.join(' ').trim();
      if (c.vMerge === 'continue') text = table.vertical.get(column) ?? '';
      else if (c.vMerge === 'restart') table.vertical.set(column, text);
      else table.vertical.delete(column);
      // A cell spanning grid columns leaves the ones it covers empty, so later cells stay under their headers.
      texts.push(text, ...Array.from({ length: Math.min(c.span, 64) - 1 }, () => ''));
      column += c.span;
    }
    table.cells = [];
    table.skip = 0;
    const outer = tables.at(-2)?.cells.at(-1);
    const at = table.rowAt ?? pages.here();
    table.rowAt = undefined;
    // A nested table's rows fold into the enclosing cell; top-level rows become blocks when the table ends.
    if (outer) outer.parts.push(texts.filter(Boolean).join(' / '));
    else if (hasText(texts)) table.rows.push({ cells: texts, at });
    cell = undefined;
  }

  const images = [...zip.entries.keys()].filter((name) => name.startsWith('word/media/')).length;
  if (images > 0) run.warnings.push(`${images} embedded image${images === 1 ? ' was' : 's were'} not read`);
  const paged = pages.finish();
  if (paged.warning) run.warnings.push(paged.warning);
  return { ...(title === undefined ? {} : { title }), ...(paged.pages ? { pages: paged.pages } : {}) };
}
