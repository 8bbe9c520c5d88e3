import { useId, useState } from 'preact/hooks';
import { api, toApiError, type ApiError, type Kb, type RetrievalMode, type SearchHit, type SearchResult } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { TextField } from '../components/field.tsx';
import { Marked } from '../components/highlight.tsx';
import { excerpt, termRanges } from '../components/text-ranges.ts';
import { effectiveMode, modeLabels, ModeSelect } from '../components/mode-select.tsx';

/** A document's view; with a chunk, its passage highlighted — only the part on `page`, when given, which is where the view opens. */
export const documentPath = (kbId: string, docId: string, query?: { chunk?: string; page?: number | null }) => {
  const base = `/kbs/${encodeURIComponent(kbId)}/documents/${encodeURIComponent(docId)}`;
  const params = new URLSearchParams();
  if (query?.chunk) params.set('chunk', query.chunk);
  if (query?.page) params.set('page', String(query.page));
  const search = params.toString();
  return search ? `${base}?${search}` : base;
};

export const pageName = (page: number, label: string | null | undefined) =>
  label && label !== String(page) ? `Page ${page} (label ${label})` : `Page ${page}`;

const RESULTS = 10;

const EXCERPT_CHARS = 360;

/** The page the best match is on, and the pages the whole passage runs over when it crosses a page break. */
function where(hit: SearchHit): string {
  if (hit.page === null) return '';
  const here = pageName(hit.page, hit.pageLabel);
  const { firstPage, lastPage } = hit;
  return firstPage !== null && lastPage !== null && lastPage > firstPage ? `${here}, in a passage over pages ${firstPage}–${lastPage}` : here;
}

function HitText({ hit, id }: { hit: SearchHit; id: string }) {
  const [whole, setWhole] = useState(false);
  const ranges = termRanges(hit.text, hit.matchedTerms);
  const ex = excerpt(hit.text, ranges, EXCERPT_CHARS);
  const clipped = ex.clippedStart || ex.clippedEnd;
  return (
    <>
      <p class="hit-text" id={id}>
        {whole || !clipped ? (
          <Marked text={hit.text} ranges={ranges} />
        ) : (
          <>
            {ex.clippedStart && '… '}
            <Marked text={ex.text} ranges={ex.ranges} />
            {ex.clippedEnd && ' …'}
          </>
        )}
      </p>
      {clipped && (
        <Button size="small" variant="ghost" class="hit-more" expanded={whole} controls={id} onClick={() => setWhole(!whole)}>
          {whole ? 'Show less' : 'Show the whole passage'}
        </Button>
      )}
    </>
  );
}

function Hit({ kbId, hit, rank }: { kbId: string; hit: SearchHit; rank: number }) {
  const id = useId();
  return (
    <li class="hit">
      <div class="hit-head">
        <a class="hit-title" href={documentPath(kbId, hit.documentId, { chunk: hit.chunkId, page: hit.page })}>
          <span class="visually-hidden">Result {rank}: </span>
          {hit.documentName}
          {hit.page !== null && <span class="hit-page"> · {where(hit)}</span>}
        </a>
        <span class="hit-score" title="Relevance score">
          score {hit.score.toFixed(3)}
        </span>
      </div>
      {hit.headings.length > 0 && (
        <p class="hit-headings">
          <span class="visually-hidden">Section: </span>
          {hit.headings.join(' › ')}
        </p>
      )}
      <HitText hit={hit} id={`${id}-text`} />
    </li>
  );
}

function summary(result: SearchResult): string {
  const n = result.hits.length;
  const found = n === 0 ? 'No passages matched' : `${n} passage${n === 1 ? '' : 's'}`;
  return `${found} · ${modeLabels[result.mode].toLowerCase()} search · ${Math.round(result.tookMs)} ms`;
}

export function KbSearch({ kb }: { kb: Kb }) {
  const [query, setQuery] = useState('');
  const [mode, setMode] = useState<RetrievalMode>(effectiveMode(kb.settings.retrievalMode, kb.embeddings));
  const [pending, setPending] = useState(false);
  const [result, setResult] = useState<SearchResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [attempted, setAttempted] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setAttempted(true);
    if (query.trim() === '' || pending) return;
    setPending(true);
    setError(null);
    try {
      setResult(await api.search(kb.id, { query: query.trim(), k: RESULTS, mode: effectiveMode(mode, kb.embeddings) }));
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setPending(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="search-heading">
      <h2 id="search-heading">Search</h2>
      <form role="search" class="search-form" noValidate onSubmit={(e) => void submit(e)}>
        <TextField
          label="Search this knowledge base"
          name="query"
          value={query}
          onValue={setQuery}
          error={attempted && query.trim() === '' ? 'Enter words or a question to search for.' : undefined}
          autoComplete="off"
        />
        <ModeSelect label="Mode" value={mode} onValue={setMode} embeddings={kb.embeddings} />
        <Button type="submit" variant="primary" pending={pending}>
          Search
        </Button>
      </form>
      {error && <ErrorBanner error={error} />}
      <p class="search-summary" role="status">
        {result ? summary(result) : ''}
      </p>
      {result && result.hits.length > 0 && (
        <ol class="hits" aria-label="Search results">
          {result.hits.map((hit, i) => (
            <Hit key={hit.chunkId} kbId={kb.id} hit={hit} rank={i + 1} />
          ))}
        </ol>
      )}
    </section>
  );
}
