import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, canEditContent, documentFileUrl, kbEventsUrl, type Chunk, type ContentBlock, type Doc, type DocContent } from '../api.ts';
import { Breadcrumbs } from '../components/breadcrumbs.tsx';
import { Button } from '../components/button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { Time } from '../components/format.tsx';
import { Marked } from '../components/highlight.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { DocumentStatus } from '../components/status-badge.tsx';
import { clipRange, rangeOnPage, type Range } from '../components/text-ranges.ts';
import { useAction } from '../hooks/use-action.ts';
import { useEventSource } from '../hooks/use-event-source.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { formatLabel } from '../document-labels.ts';
import { fileSize } from './kb-documents.tsx';
import { documentPath, pageName } from './kb-search.tsx';
import { kbPath } from './kbs.tsx';

/** Document headings sit below the page separators (h2) in the outline. */
const headingTag = (level: number | null) => `h${Math.min(6, 2 + Math.max(1, level ?? 1))}` as 'h3';

interface Group {
  kind: 'list' | 'table' | 'single';
  blocks: ContentBlock[];
}

/** Runs of list items and table rows become one list or table-like group. */
function group(blocks: readonly ContentBlock[]): Group[] {
  const out: Group[] = [];
  for (const block of blocks) {
    const kind = block.kind === 'list-item' ? 'list' : block.kind === 'table-row' ? 'table' : 'single';
    const last = out.at(-1);
    if (kind !== 'single' && last?.kind === kind) last.blocks.push(block);
    else out.push({ kind, blocks: [block] });
  }
  return out;
}

interface BlockProps {
  block: ContentBlock;
  passage: Range | null;
  markRef: Ref<HTMLElement> | undefined;
}

function BlockText({ block, passage, markRef }: BlockProps) {
  const clipped = passage && clipRange(passage, block.start, block.text.length);
  return <Marked text={block.text} ranges={clipped ? [clipped] : []} markRef={clipped ? markRef : undefined} markClass="passage" />;
}

function Block(props: BlockProps) {
  const { block } = props;
  const text = <BlockText {...props} />;
  switch (block.kind) {
    case 'heading': {
      const Tag = headingTag(block.level);
      return <Tag class="block-heading">{text}</Tag>;
    }
    case 'code':
      return (
        <pre class="block-code">
          <code>{text}</code>
        </pre>
      );
    case 'caption':
      return <p class="block-caption">{text}</p>;
    case 'list-item':
      return <li class={`block-li indent-${Math.min(4, block.level ?? 0)}`}>{text}</li>;
    case 'table-row':
      return <p class="block-row">{text}</p>;
    default:
      return <p>{text}</p>;
  }
}

interface BlocksProps {
  blocks: readonly ContentBlock[];
  passage: Range | null;
  /** The block where the passage starts; only its mark takes `markRef`. */
  first: ContentBlock | undefined;
  markRef: BlockProps['markRef'];
}

function Blocks({ blocks, passage, first, markRef }: BlocksProps) {
  const render = (b: ContentBlock) => <Block key={b.start} block={b} passage={passage} markRef={b === first ? markRef : undefined} />;
  return (
    <>
      {group(blocks).map((g) => {
        const key = g.blocks[0]?.start;
        if (g.kind === 'list') return <ul key={key} class="block-list">{g.blocks.map(render)}</ul>;
        if (g.kind === 'table') return <div key={key} class="block-table">{g.blocks.map(render)}</div>;
        return g.blocks.map(render);
      })}
    </>
  );
}

const pageId = (n: number) => `page-${n}`;

function TextView({ content, passage, focusPage }: { content: DocContent; passage: Range | null; focusPage: number | null }) {
  const mark = useRef<HTMLElement>(null);

  useEffect(() => {
    // Scroll to and focus the target so screen readers start reading there.
    const target = passage ? mark.current : focusPage ? document.getElementById(pageId(focusPage)) : null;
    if (!target) return;
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    target.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
    target.focus({ preventScroll: true });
  }, [content, passage?.[0], passage?.[1], focusPage]);

  if (content.blocks.length === 0) return <p class="empty">This document has no text.</p>;
  const first = passage ? content.blocks.find((b) => clipRange(passage, b.start, b.text.length)) : undefined;
  const shared = { passage, first, markRef: mark };
  if (!content.pages || content.pages.length === 0) return <Blocks blocks={content.blocks} {...shared} />;

  const byPage = new Map<number, ContentBlock[]>();
  for (const b of content.blocks) {
    const n = b.page ?? content.pages[0]?.number ?? 1;
    byPage.set(n, [...(byPage.get(n) ?? []), b]);
  }
  return (
    <>
      {content.pages.map((p) => (
        <div key={p.number} class="doc-page">
          <h2 id={pageId(p.number)} class="page-sep" tabIndex={-1}>
            {pageName(p.number, p.label)}
          </h2>
          {byPage.has(p.number) ? <Blocks blocks={byPage.get(p.number) ?? []} {...shared} /> : <p class="muted">No text on this page.</p>}
        </div>
      ))}
    </>
  );
}

function PagePicker({ content, value, onPage }: { content: DocContent; value: number | null; onPage(n: number): void }) {
  const id = useId();
  if (!content.pages || content.pages.length < 2) return null;
  return (
    <div class="field page-picker">
      <label for={id}>Go to page</label>
      <select id={id} value={value ?? ''} onChange={(e) => onPage(Number(e.currentTarget.value))}>
        {value === null && <option value="">Choose a page</option>}
        {content.pages.map((p) => (
          <option key={p.number} value={p.number}>
            {pageName(p.number, p.label)}
          </option>
        ))}
      </select>
    </div>
  );
}

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
