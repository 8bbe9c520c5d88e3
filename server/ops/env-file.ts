import { readFileSync } from 'node:fs';
import path from 'node:path';

/** `.env` exists but cannot be used: a configuration problem, said in one line (exit 78). */
export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

const ASSIGNMENT = /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=/;

/**
 * Loads `.env` from the working directory into process.env with Node's own loader: a variable
 * already in the environment wins, so the service manager or the shell always overrides the file.
 * A missing file is fine (every setting has a default). Node's parser skips lines it does not
 * understand; a typo there would silently leave a setting at its default, so such a line is
 * refused here, with its number, before anything starts.
 * Returns the file loaded, or null when there is none.
 */
export function loadEnvFile(dir: string = process.cwd()): string | null {
  const file = path.join(dir, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    if (code === 'ENOENT') return null;
    throw new EnvFileError(`${file} cannot be read (${code ?? (err as Error).message})`, { cause: err });
  }
  const bad = malformedLine(text);
  if (bad !== null) throw new EnvFileError(`${file} line ${bad} is not NAME=value or a # comment`);
  process.loadEnvFile(file);
  return file;
}

/** The number of the first line that is neither blank, a comment, NAME=value nor inside a quoted multi-line value. */
function malformedLine(text: string): number | null {
  const lines = text.split(/\r?\n/);
  let openQuote: string | null = null;
  for (const [i, line] of lines.entries()) {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = null;
      continue;
    }
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (!ASSIGNMENT.test(line)) return i + 1;
    const value = line.slice(line.indexOf('=') + 1).trimStart();
    const quote = value[0];
    // A quoted value that does not close on its own line goes on until the quote does.
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) openQuote = quote;
  }
  return null;
}
