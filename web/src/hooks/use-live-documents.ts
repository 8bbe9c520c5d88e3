import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, kbEventsUrl, toApiError, type ApiError, type Doc } from '../api.ts';
import { useEventSource, type LiveState } from './use-event-source.ts';

export interface LiveDocuments {
  /** Newest first; undefined until the first load. */
  documents: Doc[] | undefined;
  error: ApiError | null;
  loading: boolean;
  live: LiveState;
  reload(): void;
}

/** Keeps whichever copy of a document is newer: a list response may be older than an event. */
function upsert(list: readonly Doc[], doc: Doc): Doc[] {
  const i = list.findIndex((d) => d.id === doc.id);
  if (i === -1) return [doc, ...list];
  const existing = list[i];
  if (existing && existing.updatedAt > doc.updatedAt) return list as Doc[];
  return list.map((d, j) => (j === i ? doc : d));
}

// Files uploaded together share a timestamp; the name keeps their order stable and predictable.
const newestFirst = (docs: Doc[]) => docs.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name));

/**
 * A knowledge base's documents, kept current by its event stream. `onChange` sees each update
 * with the previous copy so pages can announce transitions (e.g. "ready", "failed").
 */
export function useLiveDocuments(kbId: string, onChange?: (doc: Doc, previous: Doc | undefined) => void): LiveDocuments {
  const [documents, setDocuments] = useState<Doc[] | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef<Doc[] | undefined>(undefined);
  latest.current = documents;
  const generation = useRef(0);

  const reload = useCallback(() => {
    // Only the newest request may write, so a slow old list cannot undo newer events.
    const mine = ++generation.current;
    setLoading(true);
    api
      .listDocuments(kbId)
      .then(({ documents: fresh }) => {
        if (mine !== generation.current) return;
        setDocuments((old) => newestFirst((old ?? []).filter((d) => fresh.some((f) => f.id === d.id)).reduce(upsert, fresh)));
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine === generation.current) setError(toApiError(err));
      })
      .finally(() => {
        if (mine === generation.current) setLoading(false);
      });
  }, [kbId]);

  useEffect(() => {
    setDocuments(undefined);
    reload();
  }, [reload]);

  const live = useEventSource(kbEventsUrl(kbId), {
    onOpen: reload,
    events: {
      document: (data) => {
        const doc = data as Doc;
        if (doc.kbId !== kbId) return;
        onChange?.(doc, latest.current?.find((d) => d.id === doc.id));
        setDocuments((list) => newestFirst(upsert(list ?? [], doc)));
      },
      deleted: (data) => {
        const { id } = data as { id: string };
        setDocuments((list) => list?.filter((d) => d.id !== id));
      },
    },
  });

  return { documents, error, loading, live, reload };
}
