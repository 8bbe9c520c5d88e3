import { useRef, useState } from 'preact/hooks';
import { api, documentFileUrl, type Doc } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { Time } from '../components/format.tsx';
import { ProgressBar } from '../components/progress.tsx';
import { DocumentStatus, FailureReason } from '../components/status-badge.tsx';
import { UploadZone } from '../components/upload-zone.tsx';
import { useAction } from '../hooks/use-action.ts';
import type { LiveDocuments } from '../hooks/use-live-documents.ts';
import type { UploadItem } from '../hooks/use-uploads.ts';
import { useToast } from '../hooks/use-toast.ts';
import { documentPath } from './kb-search.tsx';
import { formatLabel } from '../document-labels.ts';

const units = ['bytes', 'KB', 'MB', 'GB'];
export function fileSize(bytes: number): string {
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} ${n === 1 ? 'byte' : 'bytes'}` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

const settled = (doc: Doc | undefined) => doc?.status === 'ready' || doc?.status === 'failed';

interface RowProps {
  item: UploadItem;
  doc: Doc | undefined;
  /** The document was listed once and is gone now. */
  removed: boolean;
  kbId: string;
  onCancel(key: number): void;
}

function UploadRow({ item, doc, removed, kbId, onCancel }: RowProps) {
  let detail;
  if (item.state === 'uploading') {
    const share = item.size > 0 ? item.sent / item.size : 0;
    detail = (
      <span class="upload-progress">
        <ProgressBar value={share} label={`Uploading ${item.name}`} text={`Uploading ${Math.round(share * 100)}%`} />
        <Button size="small" variant="ghost" onClick={() => onCancel(item.key)}>
          Cancel<span class="visually-hidden"> uploading {item.name}</span>
        </Button>
      </span>
    );
  } else if (item.state === 'failed') {
    detail = item.error && <FailureReason error={item.error} />;
  } else if (item.state === 'duplicate') {
    detail = (
      <span>
        Already in this knowledge base
        {item.documentId && (
          <>
            {' '}
            as <a href={documentPath(kbId, item.documentId)}>{doc?.name ?? 'an existing document'}</a>
          </>
        )}
        .
      </span>
    );
  } else if (doc) {
    detail = <DocumentStatus doc={doc} />;
  } else {
    detail = <span class="muted">{removed ? 'Deleted since.' : 'Uploaded, waiting for the server…'}</span>;
  }
  return (
    <li class={`upload-item upload-${item.state}`}>
      <span class="upload-name">
        {item.name} <span class="muted">{fileSize(item.size)}</span>
      </span>
      {detail}
    </li>
  );
}

function uploadSummary(items: readonly UploadItem[]): string {
  const count = (s: UploadItem['state']) => items.filter((i) => i.state === s).length;
  const uploading = count('uploading');
  if (uploading > 0) return `Uploading ${uploading} file${uploading === 1 ? '' : 's'}…`;
  const parts = [
    count('accepted') && `${count('accepted')} added`,
    count('duplicate') && `${count('duplicate')} already in this knowledge base`,
    count('failed') && `${count('failed')} failed`,
  ].filter(Boolean);
  return parts.length ? `Upload finished: ${parts.join(', ')}.` : '';
}

interface UploadsProps {
  kbId: string;
  items: readonly UploadItem[];
  byId: ReadonlyMap<string, Doc>;
  onFiles(files: File[]): void;
  onCancel(key: number): void;
  onClear(keep: (item: UploadItem) => boolean): void;
}

export function UploadSection({ kbId, items, byId, onFiles, onCancel, onClear }: UploadsProps) {
  // Documents listed at some point, to tell "deleted since" from "not listed yet".
  const seen = useRef(new Set<string>());
  for (const id of byId.keys()) seen.current.add(id);
  const doc = (i: UploadItem) => (i.documentId ? byId.get(i.documentId) : undefined);
  const removed = (i: UploadItem) => i.documentId !== null && !byId.has(i.documentId) && seen.current.has(i.documentId);
  const finished = (i: UploadItem) => i.state === 'failed' || i.state === 'duplicate' || removed(i) || (i.state === 'accepted' && settled(doc(i)));
  return (
    <div class="uploads">
      <UploadZone onFiles={onFiles} hint="PDF, Word, HTML, Markdown, plain text and images. Several files at once are fine." />
      <p class="upload-summary" role="status">
        {uploadSummary(items)}
      </p>
      {items.length > 0 && (
        <>
          <ul class="upload-list" aria-label="Uploads">
            {items.map((i) => (
              <UploadRow key={i.key} item={i} doc={doc(i)} removed={removed(i)} kbId={kbId} onCancel={onCancel} />
            ))}
          </ul>
          {items.some(finished) && (
            <Button size="small" variant="ghost" onClick={() => onClear((i) => !finished(i))}>
              Clear finished uploads
            </Button>
          )}
        </>
      )}
    </div>
  );
}

interface TableProps {
  kbId: string;
  docs: LiveDocuments;
  canEdit: boolean;
}

export function DocumentsTable({ kbId, docs, canEdit }: TableProps) {
  const toast = useToast();
  const action = useAction(docs.reload);
  const [deleting, setDeleting] = useState<Doc | null>(null);

  const columns: Column<Doc>[] = [
    {
      header: 'Name',
      class: 'cell-wrap cell-name',
      cell: (d) => (
        <>
          {d.status === 'ready' ? (
            <a href={documentPath(kbId, d.id)} class="strong-link">
              {d.name}
            </a>
          ) : (
            <span class="strong-link">{d.name}</span>
          )}
          <span class="cell-note">
            {fileSize(d.size)} · added <Time value={d.createdAt} />
          </span>
        </>
      ),
    },
    { header: 'Type', cell: formatLabel },
    { header: 'Pages', cell: (d) => d.pages ?? '—' },
    { header: 'Passages', cell: (d) => d.chunks ?? '—' },
    { header: 'Status', class: 'cell-status', cell: (d) => <DocumentStatus doc={d} /> },
    {
      header: 'Actions',
      class: 'cell-actions cell-doc-actions',
      cell: (d) => (
        <div class="row-actions">
          <a class="button button-secondary button-small" href={documentFileUrl(kbId, d.id)} download={d.name}>
            Download<span class="visually-hidden"> {d.name}</span>
          </a>
          {canEdit && d.status === 'failed' && (
            <Button size="small" pending={action.busy === d.id} onClick={() => void action.run(d.id, () => api.reprocessDocument(kbId, d.id), `${d.name} is being processed again.`)}>
              Reprocess<span class="visually-hidden"> {d.name}</span>
            </Button>
          )}
          {canEdit && (
            <Button size="small" variant="danger" onClick={() => setDeleting(d)}>
              Delete<span class="visually-hidden"> {d.name}</span>
            </Button>
          )}
        </div>
      ),
    },
  ];

  return (
    <div aria-busy={docs.loading}>
      {docs.error && <ErrorBanner error={docs.error} onRetry={docs.reload} />}
      {docs.documents === undefined ? (
        docs.loading && <p class="loading">Loading…</p>
      ) : (
        <DataTable
          caption="Documents"
          columns={columns}
          rows={docs.documents}
          rowKey={(d) => d.id}
          empty={canEdit ? 'No documents yet. Upload some above.' : 'No documents yet.'}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.name}”?`}
          confirmLabel="Delete document"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api.deleteDocument(kbId, deleting.id);
            toast.success(`“${deleting.name}” was deleted.`);
            docs.reload();
          }}
        >
          <p>Its passages leave the search index and answers will no longer cite it. The original file is deleted too.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
