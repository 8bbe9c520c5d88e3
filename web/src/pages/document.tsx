// A document's page: its details, and its text opened on a cited passage or page (the text view
// itself lives in ./document/).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, canEditContent, documentFileUrl, kbEventsUrl, type Chunk, type Doc, type DocContent } from '../api.ts';
import { Breadcrumbs } from '../components/breadcrumbs.tsx';
import { Button } from '../components/button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { DocumentStatus } from '../components/status-badge.tsx';
import { rangeOnPage, type Range } from '../components/text-ranges.ts';
import { useAction } from '../hooks/use-action.ts';
import { useEventSource } from '../hooks/use-event-source.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { formatLabel } from '../document-labels.ts';
import { fileSize } from './kb-documents.tsx';
import { documentPath, pageName } from './kb-search.tsx';
import { PagePicker } from './document/page-picker.tsx';
import { TextView } from './document/text-view.tsx';
import { kbPath } from './kbs.tsx';

function Facts({ doc }: { doc: Doc }) {
  const rows: [string, ComponentChildren][] = [
    ['Type', `${formatLabel(doc)}${doc.format ? ` (${doc.mimeType})` : ''}`],
    ['Size', fileSize(doc.size)],
    ['Pages', doc.pages ?? '—'],
    ['Passages', doc.chunks ?? '—'],
    ['Text encoding', doc.encoding ?? '—'],
    ['OCR', doc.ocr ? 'Yes, some text was recognised from images' : 'No'],
    ['Added', <Time value={doc.createdAt} />],
    ['SHA-256', <code class="hash">{doc.sha256}</code>],
  ];
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div key={k} class="fact">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** What the highlight is: the passage, the page it opens on and, for a passage over several pages, which part is marked. */
function passageNote(chunk: Chunk, page: number | null, content: DocContent | null): string {
  const label = content?.pages?.find((p) => p.number === page)?.label;
  const on = page === null ? '' : ` on ${pageName(page, label).toLowerCase()}`;
  const under = chunk.headings.length > 0 ? `, under “${chunk.headings.join(' › ')}”` : '';
  const { firstPage, lastPage } = chunk;
  const spans = firstPage !== null && lastPage !== null && lastPage > firstPage && page !== null && page >= firstPage && page <= lastPage;
  const marked = spans ? `It runs over pages ${firstPage}–${lastPage}; the part on page ${page} is highlighted below.` : 'It is highlighted below.';
  return `Showing the passage from your search${on}${under}. ${marked}`;
}

/** The document record, kept current by the knowledge base's event stream while it is processed. */
function useLiveDocument(kbId: string, docId: string) {
  const resource = useResource(() => api.getDocument(kbId, docId), [kbId, docId]);
  const [live, setLive] = useState<Doc | null>(null);
  const [deleted, setDeleted] = useState(false);
  useEventSource(kbEventsUrl(kbId), {
    onOpen: resource.reload,
    events: {
      document: (data) => {
        if ((data as Doc).id === docId) setLive(data as Doc);
      },
      deleted: (data) => {
        if ((data as { id: string }).id === docId) setDeleted(true);
      },
    },
  });
  const fetched = resource.data;
  const doc = live && (!fetched || live.updatedAt >= fetched.updatedAt) ? live : fetched;
  return { resource, doc, deleted };
}

export function DocumentPage() {
  const { params } = useRoute();
  const { path, query, route } = useLocation();
  const me = useMe();
  const kbId = params['kbId'] ?? '';
  const docId = params['docId'] ?? '';
  const chunkId = query['chunk'] ?? null;
  const requestedPage = Number(query['page']) || null;

  const kb = useResource(() => api.getKb(kbId), [kbId]);
  const { resource, doc, deleted } = useLiveDocument(kbId, docId);
  const ready = doc?.status === 'ready';
  const content = useResource(() => (ready ? api.documentContent(kbId, docId) : Promise.resolve(null)), [kbId, docId, ready]);
  const chunk = useResource(() => (chunkId ? api.getChunk(kbId, chunkId) : Promise.resolve(null)), [kbId, chunkId]);
  const action = useAction(resource.reload);

  const whole: Range | null = chunk.data ? [chunk.data.start, chunk.data.end] : null;
  // A citation or hit names the page its passage is on: highlight the part there, so the view opens on it.
  const passage = whole && requestedPage && content.data ? rangeOnPage(whole, content.data.blocks, requestedPage) : whole;
  const shownPage = requestedPage ?? chunk.data?.firstPage ?? null;

  const crumbs = [{ href: '/kbs', label: 'Knowledge bases' }, ...(kb.data ? [{ href: kbPath(kbId), label: kb.data.name }] : [])];

  if (!doc) {
    return (
      <>
        <Breadcrumbs trail={crumbs} />
        <Page title="Document">
          <ResourceView resource={resource}>{() => null}</ResourceView>
        </Page>
      </>
    );
  }

  return (
    <>
      <Breadcrumbs trail={crumbs} />
      <Page
        title={doc.name}
        actions={
          <>
            <a class="button button-secondary" href={documentFileUrl(kbId, docId)} download={doc.name}>
              Download original
            </a>
            {canEditContent(me.user) && doc.status === 'failed' && (
              <Button pending={action.busy === doc.id} onClick={() => void action.run(doc.id, () => api.reprocessDocument(kbId, doc.id), `${doc.name} is being processed again.`)}>
                Reprocess
              </Button>
            )}
          </>
        }
      >
        {deleted && (
          <div class="banner banner-error" role="alert">
            <p class="banner-message">This document was deleted.</p>
            <a href={kbPath(kbId)}>Back to the knowledge base</a>
          </div>
        )}
        <section class="panel doc-details" aria-labelledby="details-heading">
          <div class="section-header">
            <h2 id="details-heading">Details</h2>
            <DocumentStatus doc={doc} />
          </div>
          <Facts doc={doc} />
          {doc.warnings.length > 0 && (
            <div class="banner banner-warning doc-warnings">
              <p class="banner-message">Warnings</p>
              <ul>
                {doc.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </div>
          )}
        </section>
        {chunk.error && <ErrorBanner error={chunk.error} />}
        {chunk.data && (
          <p class="banner banner-info passage-note" role="status">
            {passageNote(chunk.data, shownPage, content.data ?? null)} <a href={documentPath(kbId, docId, { page: shownPage })}>Show without highlight</a>
          </p>
        )}
        {ready ? (
          <ResourceView resource={content}>
            {(c) =>
              c && (
                <section class="panel doc-text" aria-label="Document text">
                  <PagePicker content={c} value={shownPage} onPage={(n) => route(`${path}?page=${n}`, true)} />
                  <TextView content={c} passage={passage} focusPage={shownPage} />
                </section>
              )
            }
          </ResourceView>
        ) : (
          <p class="muted">The text can be read here once processing has finished.</p>
        )}
      </Page>
    </>
  );
}
