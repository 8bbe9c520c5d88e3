import { useMemo, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, canEditContent, type Doc, type Kb, type RetrievalMode } from '../api.ts';
import { Breadcrumbs } from '../components/breadcrumbs.tsx';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { modeLabels } from '../components/mode-select.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { TextAreaField } from '../components/text-area-field.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useLiveDocuments } from '../hooks/use-live-documents.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { useUploads } from '../hooks/use-uploads.ts';
import { ocrChoices } from '../ocr-languages.ts';
import { required } from '../validation.ts';
import { chatPath } from './chat-sidebar.tsx';
import { DocumentsTable, UploadSection } from './kb-documents.tsx';
import { KbSearch } from './kb-search.tsx';
import { KB_DESCRIPTION_MAX, KB_NAME_MAX } from './kbs.tsx';

const KBS_CRUMB = [{ href: '/kbs', label: 'Knowledge bases' }];

function wholeNumber(value: string, label: string, [min, max]: readonly [number, number]): string | undefined {
  const n = Number(value);
  return /^\d+$/.test(value.trim()) && n >= min && n <= max ? undefined : `Enter ${label} as a whole number from ${min} to ${max}.`;
}

// The server's limits, repeated for instant feedback.
const CHUNK_SIZE = [64, 2048] as const;
const CHUNK_OVERLAP = [0, 512] as const;

function EditKbDialog({ kb, onClose, onSaved }: { kb: Kb; onClose(): void; onSaved(kb: Kb): void }) {
  const toast = useToast();
  const form = useForm({
    // Dotted names match the server's validation paths, so its messages land on the right field.
    initial: {
      name: kb.name,
      description: kb.description,
      'settings.chunkSize': String(kb.settings.chunkSize),
      'settings.chunkOverlap': String(kb.settings.chunkOverlap),
      'settings.retrievalMode': kb.settings.retrievalMode,
      // Codes joined by "+"; '' is the server default.
      'settings.ocrLanguages': kb.settings.ocrLanguages?.join('+') ?? '',
    },
    validate: (v) => {
      const overlapTooBig = Number(v['settings.chunkOverlap']) >= Number(v['settings.chunkSize']);
      return {
        name: required(v.name, 'a name'),
        'settings.chunkSize': wholeNumber(v['settings.chunkSize'], 'the passage size', CHUNK_SIZE),
        'settings.chunkOverlap':
          wholeNumber(v['settings.chunkOverlap'], 'the overlap', CHUNK_OVERLAP) ?? (overlapTooBig ? 'Make the overlap smaller than the passage size.' : undefined),
      };
    },
    submit: async (v) => {
      const chunkSize = Number(v['settings.chunkSize']);
      const chunkOverlap = Number(v['settings.chunkOverlap']);
      const ocrLanguages = v['settings.ocrLanguages'] ? v['settings.ocrLanguages'].split('+') : null;
      const saved = await api.updateKb(kb.id, {
        name: v.name.trim(),
        description: v.description.trim(),
        settings: { chunkSize, chunkOverlap, retrievalMode: v['settings.retrievalMode'] as RetrievalMode, ocrLanguages },
      });
      const rechunk = chunkSize !== kb.settings.chunkSize || chunkOverlap !== kb.settings.chunkOverlap;
      // The server re-indexes by itself when the chunking changes.
      toast.success(rechunk ? 'Saved. Documents are being re-indexed with the new passage settings.' : 'Saved.');
      onSaved(saved);
      onClose();
    },
  });
  return (
    <FormDialog title="Edit knowledge base" submitLabel="Save" form={form} onClose={onClose}>
      <TextField label="Name" autoComplete="off" maxLength={KB_NAME_MAX} {...form.field('name')} />
      <TextAreaField label="Description (optional)" maxLength={KB_DESCRIPTION_MAX} {...form.field('description')} />
      <fieldset class="fieldset">
        <legend>Indexing</legend>
        <TextField label="Passage size (tokens)" hint="How much text one search result holds: 64 to 2048. Changing it re-indexes every document." autoComplete="off" {...form.field('settings.chunkSize')} />
        <TextField label="Passage overlap (tokens)" hint="Text repeated between neighbouring passages so none is cut mid-thought." autoComplete="off" {...form.field('settings.chunkOverlap')} />
        <SelectField
          label="Default search mode"
          hint={kb.embeddings.available ? undefined : 'Without an embedding model every search runs as keyword search.'}
          options={(['hybrid', 'keyword', 'vector'] as const).map((m) => ({ value: m, label: modeLabels[m] }))}
          {...form.field('settings.retrievalMode')}
        />
        <p class="field-hint">Embedding model: {kb.settings.embeddingModel ?? kb.embeddings.model ?? 'none'}</p>
        <SelectField
          label="Language of scanned documents"
          hint="Scans and photos are read (OCR) in this language; reading a scan in the wrong one gives gibberish. Applies to documents added from now on: re-index to read earlier scans again."
          options={ocrChoices(kb.ocr, kb.settings.ocrLanguages)}
          {...form.field('settings.ocrLanguages')}
        />
      </fieldset>
    </FormDialog>
  );
}

function ReindexDialog({ kb, onClose }: { kb: Kb; onClose(): void }) {
  const toast = useToast();
  const form = useForm({
    initial: {},
    submit: async () => {
      const { documents } = await api.reindexKb(kb.id);
      toast.success(`Re-indexing ${documents} document${documents === 1 ? '' : 's'}. Progress shows in the table.`);
      onClose();
    },
  });
  return (
    <FormDialog title={`Re-index “${kb.name}”?`} submitLabel="Re-index" form={form} onClose={onClose}>
      <p>
        Every document is read, split into passages and indexed again with the current settings. Search keeps working
        meanwhile; this can take a while for large collections.
      </p>
    </FormDialog>
  );
}

type Dialog = 'edit' | 'reindex' | 'delete' | null;

function statsLine(docs: readonly Doc[]): string {
  const n = (s: Doc['status']) => docs.filter((d) => d.status === s).length;
  const passages = docs.reduce((sum, d) => sum + (d.chunks ?? 0), 0);
  const busy = n('queued') + n('processing');
  return [
    `${docs.length} document${docs.length === 1 ? '' : 's'}`,
    `${n('ready')} ready`,
    busy > 0 && `${busy} processing`,
    n('failed') > 0 && `${n('failed')} failed`,
    `${passages} passages`,
  ]
    .filter(Boolean)
    .join(' · ');
}

function KbView({ kb, onChanged }: { kb: Kb; onChanged(kb: Kb): void }) {
  const me = useMe();
  const toast = useToast();
  const { route } = useLocation();
  const canEdit = canEditContent(me.user);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [announcement, setAnnouncement] = useState('');

  const docs = useLiveDocuments(kb.id, (doc, previous) => {
    if (previous?.status === doc.status) return;
    if (doc.status === 'ready') setAnnouncement(`${doc.name} is ready.`);
    if (doc.status === 'failed') setAnnouncement(`${doc.name} failed: ${doc.error?.message ?? 'unknown reason'}`);
  });
  const { reload } = docs;
  const uploads = useUploads(kb.id, reload);
  const byId = useMemo(() => new Map((docs.documents ?? []).map((d) => [d.id, d])), [docs.documents]);
  const close = () => setDialog(null);

  return (
    <Page
      title={kb.name}
      intro={kb.description || undefined}
      actions={
        <>
          {/* Everyone who can read a knowledge base may ask it questions. */}
          <a class="button button-primary" href={chatPath(kb.id)}>
            Ask questions
          </a>
          {canEdit && (
            <>
              <Button onClick={() => setDialog('edit')}>Edit</Button>
              <Button onClick={() => setDialog('reindex')}>Re-index</Button>
              <Button variant="danger" onClick={() => setDialog('delete')}>
                Delete
              </Button>
            </>
          )}
        </>
      }
    >
      {!kb.embeddings.available && (
        <div class="banner banner-warning">
          <p class="banner-message">No embedding model installed — search is keyword-only.</p>
          {kb.embeddings.reason && <p>{kb.embeddings.reason}</p>}
        </div>
      )}
      <KbSearch kb={kb} />
      <section class="panel" aria-labelledby="documents-heading">
        <div class="section-header">
          <h2 id="documents-heading">Documents</h2>
          <span class={`live live-${docs.live}`}>{docs.live === 'open' ? 'Live' : docs.live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}</span>
        </div>
        {docs.documents && <p class="muted">{statsLine(docs.documents)}</p>}
        {canEdit && <UploadSection kbId={kb.id} items={uploads.items} byId={byId} onFiles={uploads.add} onCancel={uploads.cancel} onClear={uploads.clear} />}
        <DocumentsTable kbId={kb.id} docs={docs} canEdit={canEdit} />
        <p class="visually-hidden" role="status">
          {announcement}
        </p>
      </section>
      {dialog === 'edit' && <EditKbDialog kb={kb} onClose={close} onSaved={onChanged} />}
      {dialog === 'reindex' && <ReindexDialog kb={kb} onClose={close} />}
      {dialog === 'delete' && (
        <ConfirmDialog
          title={`Delete “${kb.name}”?`}
          confirmLabel="Delete knowledge base"
          onClose={close}
          onConfirm={async () => {
            await api.deleteKb(kb.id);
            toast.success(`Knowledge base “${kb.name}” was deleted.`);
            route('/kbs');
          }}
        >
          <p>
            This deletes “{kb.name}” and all {docs.documents?.length ?? kb.stats.documents} of its documents, their files and
            their search index. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </Page>
  );
}

export function KbPage() {
  const { params } = useRoute();
  const kbId = params['kbId'] ?? '';
  const kb = useResource(() => api.getKb(kbId), [kbId]);
  const [edited, setEdited] = useState<Kb | null>(null);
  const current = edited?.id === kbId ? edited : kb.data;
  return (
    <>
      <Breadcrumbs trail={KBS_CRUMB} />
      {current ? (
        <KbView key={current.id} kb={current} onChanged={setEdited} />
      ) : (
        <Page title="Knowledge base">
          <ResourceView resource={kb}>{() => null}</ResourceView>
        </Page>
      )}
    </>
  );
}
