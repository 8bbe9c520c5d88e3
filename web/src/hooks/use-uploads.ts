import { useCallback, useRef, useState } from 'preact/hooks';
import { toApiError, uploadDocuments, type ApiError, type Upload } from '../api.ts';

export interface UploadItem {
  key: number;
  name: string;
  size: number;
  /** Bytes of this file sent so far (estimated from the request's progress). */
  sent: number;
  state: 'uploading' | 'accepted' | 'duplicate' | 'failed';
  documentId: string | null;
  error: ApiError | null;
}

/** Splits the request's progress over its files in order: multipart sends them one after another. */
function perFile(sizes: readonly number[], sent: number, total: number): number[] {
  // The multipart framing adds a little per file; scale so the last file completes with the request.
  const payload = sizes.reduce((a, b) => a + b, 0);
  let left = total > 0 ? (sent / total) * payload : 0;
  return sizes.map((size) => {
    const mine = Math.min(size, left);
    left -= mine;
    return mine;
  });
}

/**
 * Uploads chosen files as one request per selection and tracks each file. If the server refuses
 * the whole request (one file too large, or too many files), the files are retried one per
 * request so the others still get in and only an offending file shows the error.
 */
export function useUploads(kbId: string, onUploaded: () => void) {
  const [items, setItems] = useState<UploadItem[]>([]);
  // Requests in flight by item key, for cancelling. Leaving the page does not cancel: the files
  // still arrive and show up in the list when the user comes back.
  const pending = useRef(new Map<number, Upload>());
  const nextKey = useRef(1);

  const patch = (keys: readonly number[], change: (item: UploadItem, index: number) => Partial<UploadItem>) =>
    setItems((list) => list.map((item) => (keys.includes(item.key) ? { ...item, ...change(item, keys.indexOf(item.key)) } : item)));

  const send = useCallback(
    async (files: readonly File[], keys: readonly number[]): Promise<void> => {
      const upload = uploadDocuments(kbId, files, (sent, total) => {
        const shares = perFile(
          files.map((f) => f.size),
          sent,
          total,
        );
        patch(keys, (_, i) => ({ sent: shares[i] ?? 0 }));
      });
      for (const key of keys) pending.current.set(key, upload);
      try {
        const docs = await upload.done;
        patch(keys, (item, i) => {
          const doc = docs[i];
          if (!doc) return { state: 'failed', error: toApiError(new Error('The server did not confirm this file.')) };
          return { sent: item.size, state: doc.duplicate ? 'duplicate' : 'accepted', documentId: doc.id };
        });
        onUploaded();
      } catch (err) {
        const error = toApiError(err);
        if ((error.code === 'too_large' || error.code === 'too_many_files') && files.length > 1) {
          patch(keys, () => ({ sent: 0 }));
          for (const [i, file] of files.entries()) await send([file], [keys[i] ?? -1]);
          return;
        }
        patch(keys, () => ({ state: 'failed', error }));
      } finally {
        for (const key of keys) pending.current.delete(key);
      }
    },
    // oxlint-disable-next-line react/exhaustive-deps -- patch only uses the state setter
    [kbId, onUploaded],
  );

  const add = useCallback(
    (files: readonly File[]) => {
      if (files.length === 0) return;
      const fresh: UploadItem[] = files.map((f) => ({ key: nextKey.current++, name: f.name, size: f.size, sent: 0, state: 'uploading', documentId: null, error: null }));
      setItems((list) => [...fresh, ...list]);
      void send(
        files,
        fresh.map((i) => i.key),
      );
    },
    [send],
  );

  /** Cancels the request carrying item `key` (and so the other files sent with it). */
  const cancel = useCallback((key: number) => pending.current.get(key)?.abort(), []);

  const clear = useCallback((keep: (item: UploadItem) => boolean) => setItems((list) => list.filter(keep)), []);

  return { items, add, cancel, clear };
}
