// Table rows as the ingestion stores them, back into cells. Two forms arrive: Markdown table
// lines ("| a | b |", with a "|---|---|" line after the header row), and the older plain
// "a | b" join that carries no header. Each cell keeps its document offset so the passage
// highlight can be clipped to it like any other text.

export interface Cell {
  text: string;
  /** Document offset of the cell's first character. */
  start: number;
}

export interface TableRows {
  /** Rows above a Markdown separator line; empty when the table says nothing about a header. */
  head: Cell[][];
  body: Cell[][];
}

const SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** The Markdown line between a table's header and its body ("|---|:--:|"). */
// A pipe is required: a lone "---" is more likely a dash in a one-column table than a separator.
export const isSeparatorRow = (line: string) => line.includes('|') && SEPARATOR.test(line);

/** Cells of one line starting at document offset `at`. */
export function rowCells(line: string, at: number): Cell[] {
  const markdown = line.trimStart().startsWith('|');
  // Markdown escapes a pipe inside a cell as "\|"; the plain form has none and splits on " | ".
  const splitter = markdown ? /(?<!\\)\|/g : / \| /g;
  const cells: Cell[] = [];
  let from = 0;
  const push = (to: number) => {
    const raw = line.slice(from, to);
    const lead = raw.length - raw.trimStart().length;
    cells.push({ text: raw.trim(), start: at + from + lead });
  };
  for (const m of line.matchAll(splitter)) {
    push(m.index);
    from = m.index + m[0].length;
  }
  push(line.length);
  // The pipes that open and close a Markdown row leave an empty cell at each end.
  if (markdown) {
    if (cells[0]?.text === '') cells.shift();
    if (cells.at(-1)?.text === '' && /\|\s*$/.test(line)) cells.pop();
  }
  return cells;
}

/** The rows of a run of table-row blocks (a block may hold several lines of a Markdown table). */
export function tableRows(blocks: readonly { text: string; start: number }[]): TableRows {
  const rows: Cell[][] = [];
  let headerRows = 0;
  for (const block of blocks) {
    let offset = 0;
    for (const line of block.text.split('\n')) {
      const at = block.start + offset;
      offset += line.length + 1;
      if (line.trim() === '') continue;
      if (isSeparatorRow(line)) {
        // Only the first separator, and only below a row, marks a header.
        if (headerRows === 0 && rows.length > 0) headerRows = rows.length;
        continue;
      }
      rows.push(rowCells(line, at));
    }
  }
  return { head: rows.slice(0, headerRows), body: rows.slice(headerRows) };
}
