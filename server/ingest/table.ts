// Tables as Markdown table text. A table's rows stay one `table-row` block each, so citations and
// offsets name rows as before, but each row's text is a Markdown row ("| M6 | 10 Nm |") and the
// first row's block also carries the separator line ("| --- | --- |") on a second line: a run of
// rows reads as a Markdown table wherever it is cut, and a chunk can never hold a header without
// its separator. Markdown tables have exactly one header row, so the first row is the header.

export type ColumnAlign = 'left' | 'right' | 'center' | null;

const RULE = { left: ':---', right: '---:', center: ':---:' } as const;

/** A cell's text on one line, its pipes escaped so they do not end the cell. */
function cellText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/\\?\|/g, '\\|');
}

/** One Markdown row line from its cells (padded to `columns`). */
export function markdownRow(cells: readonly string[], columns: number): string {
  const padded = Array.from({ length: Math.max(columns, cells.length) }, (_, i) => cellText(cells[i] ?? ''));
  return `| ${padded.join(' | ')} |`;
}

/** The line under a Markdown table's header row. */
export function markdownSeparator(columns: number, align: readonly ColumnAlign[] = []): string {
  return `| ${Array.from({ length: columns }, (_, i) => {
    const a = align[i];
    return a ? RULE[a] : '---';
  }).join(' | ')} |`;
}

/** Whether a row has any text at all; empty rows are left out of the table. */
export function hasText(cells: readonly string[]): boolean {
  return cells.some((c) => c.trim() !== '');
}

/**
 * A table's rows (rows with no text already left out) as block texts, one per row: every row is
 * padded to the widest row's columns (trailing empty cells do not count) and the first carries
 * the separator line after it.
 */
export function markdownTable(rows: readonly (readonly string[])[], align: readonly ColumnAlign[] = []): string[] {
  const width = (cells: readonly string[]) => {
    let n = cells.length;
    while (n > 0 && !cells[n - 1]!.trim()) n--;
    return n;
  };
  const columns = Math.max(1, ...rows.map(width));
  return rows.map((cells, i) => {
    const line = markdownRow(cells.slice(0, width(cells)), columns);
    return i === 0 ? `${line}\n${markdownSeparator(columns, align)}` : line;
  });
}

/** Whether a block text is a Markdown header row (its second line is a separator). */
export function isHeaderRow(text: string): boolean {
  return /\n\|(?: *:?-{3,}:? *\|)+$/.test(text);
}
