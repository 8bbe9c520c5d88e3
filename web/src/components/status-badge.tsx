import type { Doc, DocStage, DocStatus } from '../api.ts';
import { Badge } from './format.tsx';
import { ProgressBar } from './progress.tsx';

const STATUS: Record<DocStatus, { label: string; tone: 'neutral' | 'good' | 'bad' | 'info' }> = {
  queued: { label: 'Queued', tone: 'neutral' },
  processing: { label: 'Processing', tone: 'info' },
  ready: { label: 'Ready', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
};

export const stageLabels: Record<DocStage, string> = {
  queued: 'Waiting to start',
  parsing: 'Reading the file',
  ocr: 'Recognising text (OCR)',
  chunking: 'Splitting into passages',
  embedding: 'Computing embeddings',
  indexing: 'Indexing for search',
  ready: 'Ready',
  failed: 'Failed',
};

export function StatusBadge({ status }: { status: DocStatus }) {
  const { label, tone } = STATUS[status];
  return <Badge tone={tone}>{label}</Badge>;
}

/** Status, pipeline stage with a progress bar while it runs, and the failure reason once it has failed. */
export function DocumentStatus({ doc }: { doc: Doc }) {
  const busy = doc.status === 'queued' || doc.status === 'processing';
  return (
    <div class="doc-status">
      <StatusBadge status={doc.status} />
      {busy && <ProgressBar value={doc.progress} label={`Processing ${doc.name}`} text={`${stageLabels[doc.stage]} · ${Math.round(doc.progress * 100)}%`} />}
      {busy && doc.statusMessage && <span class="field-hint">{doc.statusMessage}</span>}
      {doc.status === 'failed' && doc.error && <FailureReason error={doc.error} />}
    </div>
  );
}

export function FailureReason({ error }: { error: { code: string; message: string } }) {
  return (
    <span class="failure">
      {error.message} <code class="error-code">{error.code}</code>
    </span>
  );
}
