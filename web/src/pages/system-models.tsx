import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ModelDownload, type ModelsStatus } from '../api.ts';
import { Button } from '../components/button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { Badge } from '../components/format.tsx';
import { ProgressBar } from '../components/progress.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { useToast } from '../hooks/use-toast.ts';
import { fileSize } from './kb-documents.tsx';
import { ROLE_LABELS } from './settings.tsx';

/** While a download runs, the page follows it this often. */
const POLL_MS = 1_000;

type Missing = ModelsStatus['roles'][number]['missing'][number] & { role: ModelsStatus['roles'][number]['role'] };

const active = (d: ModelDownload | undefined) => d !== undefined && (d.state === 'queued' || d.state === 'running');

function amount(d: ModelDownload): string {
  return d.totalBytes ? `${fileSize(d.bytes)} of ${fileSize(d.totalBytes)}` : fileSize(d.bytes);
}

interface RowProps {
  model: Missing;
  download: ModelDownload | undefined;
  onStart(id: string): void;
}

function DownloadCell({ model, download, onStart }: RowProps) {
  if (download?.state === 'queued') return <span role="status">Waiting for another download to finish…</span>;
  if (download?.state === 'running') {
    return <ProgressBar value={download.totalBytes ? download.bytes / download.totalBytes : 0} label={`Downloading ${model.name}`} text={amount(download)} />;
  }
  return (
    <>
      {download?.state === 'failed' && <span class="cell-note error-text">Failed: {download.error}</span>}
      <Button size="small" onClick={() => onStart(model.id)} label={`${download?.state === 'failed' ? 'Try again to download' : 'Download'} ${model.name}`}>
        {download?.state === 'failed' ? 'Try again' : 'Download'}
      </Button>
    </>
  );
}

/**
 * The instance owner downloads missing models from here: the server fetches them from the
 * manifest's URLs (or MODELS_MIRROR_URL), resuming and checking each file's sha256 as
 * `npm run models` does, and the page draws the bytes in place. Engines pick a new model up at start.
 */
export function ModelDownloadsPanel({ models, onInstalled }: { models: ModelsStatus; onInstalled(): void }) {
  const toast = useToast();
  const downloads = useResource(() => api.modelDownloads(), []);
  const byModel = new Map((downloads.data?.downloads ?? []).map((d) => [d.model, d]));
  const running = [...byModel.values()].some(active);
  const seenDone = useRef(new Set<string>());
  const [starting, setStarting] = useState<string | null>(null);

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(downloads.reload, POLL_MS);
    return () => clearInterval(timer);
    // oxlint-disable-next-line react/exhaustive-deps -- reload is stable for the page's life
  }, [running]);

  // A finished download changes what is installed: the models table says so.
  useEffect(() => {
    const done = [...byModel.values()].filter((d) => d.state === 'done' && !seenDone.current.has(d.model));
    if (done.length === 0) return;
    for (const d of done) seenDone.current.add(d.model);
    onInstalled();
  });

  const start = async (id: string) => {
    setStarting(id);
    try {
      await api.downloadModel(id);
      downloads.reload();
    } catch (err) {
      toast.error(err);
    } finally {
      setStarting(null);
    }
  };

  const missing: Missing[] = models.roles.flatMap((r) => r.missing.map((m) => ({ ...m, role: r.role })));
  const columns: Column<Missing>[] = [
    { header: 'Model', class: 'cell-wrap', cell: (m) => <>{m.name}{m.profiles.length > 0 && <span class="cell-note">In the {m.profiles.join(', ')} profile{m.profiles.length === 1 ? '' : 's'}</span>}</> },
    { header: 'Role', cell: (m) => ROLE_LABELS[m.role] },
    { header: 'Size', cell: (m) => (m.sizeBytes === null ? '—' : fileSize(m.sizeBytes)) },
    { header: 'Download', class: 'cell-wrap', cell: (m) => <DownloadCell model={m} download={starting === m.id ? placeholder(m.id) : byModel.get(m.id)} onStart={start} /> },
  ];
  const finished = [...byModel.values()].filter((d) => d.state === 'done');

  return (
    <ResourceView resource={downloads}>
      {() => (
        <>
          <DataTable caption="Models to download" columns={columns} rows={missing} rowKey={(m) => m.id} empty="Every model in the manifest is installed." />
          {finished.length > 0 && (
            <ul class="plain-list" role="status">
              {finished.map((d) => (
                <li key={d.model}>
                  <Badge tone="good">Downloaded</Badge> {d.model} ({fileSize(d.bytes)}). Lectern starts using a new model when it is restarted.
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </ResourceView>
  );
}

/** What a row shows between the click and the server's answer. */
function placeholder(model: string): ModelDownload {
  return { model, state: 'queued', bytes: 0, totalBytes: null, startedAt: '', finishedAt: null, error: null };
}
