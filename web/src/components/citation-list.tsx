import type { Citation } from '../api.ts';
import { documentPath, pageName } from '../pages/kb-search.tsx';

/** The document view opened at the cited page, highlighting the cited passage there; null once the document is deleted. */
export const citationHref = (kbId: string, c: Citation): string | null => (c.removed ? null : documentPath(kbId, c.documentId, { chunk: c.chunkId, page: c.page }));

/** Said where a citation's document was deleted: nothing of it is kept, its name included. */
export const REMOVED_SOURCE = 'Source removed: the document was deleted';

/** "handbook.pdf, page 3 (label iii)": where a citation points, in one line. */
export const citationPlace = (c: Citation): string => (c.removed ? REMOVED_SOURCE : c.page === null ? c.documentName : `${c.documentName}, ${pageName(c.page, c.pageLabel).toLowerCase()}`);

/** What Copy puts on the clipboard: the answer and, when it cites any, the sources it cites. */
export function answerForClipboard(text: string, citations: readonly Citation[]): string {
  const answer = text.trim();
  return citations.length === 0 ? answer : `${answer}\n\nSources:\n${citations.map((c) => `[${c.n}] ${citationPlace(c)}`).join('\n')}`;
}

/** The sources under an answer, numbered as the answer's [n] markers (not by position: numbers may skip). */
export function CitationList({ kbId, citations, heading = 'Sources' }: { kbId: string; citations: readonly Citation[]; heading?: string }) {
  return (
    <div class="sources">
      <h4 class="sources-heading">{heading}</h4>
      <ol class="source-list">
        {citations.map((c) => (
          <li key={c.n} value={c.n} class="source">
            {c.removed ? (
              <span class="source-removed">{REMOVED_SOURCE}</span>
            ) : (
              <>
                <a href={citationHref(kbId, c) ?? undefined} class="source-link">
                  {c.documentName}
                </a>
                {c.page !== null && <span class="source-page"> · {pageName(c.page, c.pageLabel)}</span>}
                {c.quote && <blockquote class="source-quote">{c.quote}</blockquote>}
              </>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
