// CSV as RFC 4180 writes it, made safe to open in a spreadsheet.

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and CR, may
 * strip them and then do so): OWASP's CSV injection guidance prefixes such cells with a quote.
 * Audit cells carry text others chose — names, user agents, document names.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | boolean | null): string {
  let text = value === null ? '' : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  // Quoted when it holds a delimiter, a quote or a line break; quotes inside are doubled.
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: ReadonlyArray<string | number | boolean | null>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
