// The document's text, page by page, opened on the cited passage (marked and focused, so a screen
// reader starts there) or on a chosen page. Long documents render only the pages near the reader;
// "Show all pages" renders everything for the browser's find, printing, or reading straight through.
import { useMemo, useRef, useState } from 'preact/hooks';
import type { DocContent } from '../../api.ts';
import { clipRange, type Range } from '../../components/text-ranges.ts';
import { pageName } from '../kb-search.tsx';
import { Blocks, type Highlight } from './blocks.tsx';
import { PagedText, type PagedTarget } from './paged-text.tsx';
import { isSeparatorRow } from './table-rows.ts';
import { sizeOf, unitsOf, type Unit } from './units.ts';

/** Up to this many pages, a document is simply rendered whole. */
const WINDOW_FROM = 12;

export const pageId = (n: number) => `page-${n}`;

function UnitView({ unit, highlight }: { unit: Unit; highlight: Highlight }) {
  if (unit.page === null) return <Blocks blocks={unit.blocks} highlight={highlight} />;
  return (
    <>
      <h2 id={pageId(unit.page)} class="page-sep" tabIndex={-1}>
        {pageName(unit.page, unit.label)}
      </h2>
      {unit.blocks.length > 0 ? <Blocks blocks={unit.blocks} highlight={highlight} /> : <p class="muted">No text on this page.</p>}
    </>
  );
}

export function TextView({ content, passage, focusPage }: { content: DocContent; passage: Range | null; focusPage: number | null }) {
  const mark = useRef<HTMLElement>(null);
  const units = useMemo(() => unitsOf(content), [content]);
  const sizes = useMemo(() => units.map(sizeOf), [units]);
  const [showAll, setShowAll] = useState(false);
  if (units.length === 0) return <p class="empty">This document has no text.</p>;

  // A separator row is never rendered, so it cannot hold the mark to focus.
  const first = passage ? content.blocks.find((b) => clipRange(passage, b.start, b.text.length) && !(b.kind === 'table-row' && isSeparatorRow(b.text))) : undefined;
  const index = first ? units.findIndex((u) => u.blocks.includes(first)) : focusPage !== null ? units.findIndex((u) => u.page === focusPage) : -1;
  const unit = units[index];
  const target: PagedTarget | null = unit
    ? {
        index,
        key: `${index}:${passage?.[0]}:${passage?.[1]}:${focusPage}`,
        element: () => (first ? mark.current : null) ?? (unit.page === null ? null : document.getElementById(pageId(unit.page))),
      }
    : null;
  const highlight: Highlight = { passage, first, markRef: mark };
  const windowed = units.length > WINDOW_FROM;

  return (
    <>
      {windowed && (
        <p class="doc-window-note">
          <span class="muted">
            {showAll
              ? `All ${units.length} ${units[0]?.page === null ? 'parts' : 'pages'} are shown.`
              : 'Only the pages near where you are reading are shown. Show all to search with your browser’s find, print, or read straight through with a screen reader.'}
          </span>
          <button type="button" class="button button-secondary button-small" onClick={() => setShowAll(!showAll)}>
            {showAll ? 'Show nearby pages only' : 'Show all pages'}
          </button>
        </p>
      )}
      <PagedText
        sizes={sizes}
        all={!windowed || showAll}
        target={target}
        pageClass={units[0]?.page === null ? 'doc-slice' : 'doc-page'}
        renderPage={(i) => units[i] && <UnitView unit={units[i]} highlight={highlight} />}
      />
    </>
  );
}
