import { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError, errors } from '../errors.ts';
import { BlobTooLargeError, type BlobStore } from '../files/files.ts';
import type { AppContext } from '../http/context.ts';
import { UNSHOWABLE } from '../http/names.ts';
import type { UploadedFile } from './documents.ts';

export interface UploadLimits {
  maxFileBytes: number;
  maxFiles: number;
}

const tooLarge = (limit: number) => new AppError(413, 'too_large', `A file is larger than the ${Math.round(limit / 1024 / 1024)} MB upload limit.`);

/**
 * A display name from a client-supplied file name: no path, nothing that hides or reorders what
 * is shown, well-formed Unicode in its composed form (as typed, `é` is one character), at most
 * 255 characters.
 */
export function cleanFileName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? '';
  const clean = [...base.toWellFormed().normalize('NFC').replace(UNSHOWABLE, '').trim()].slice(0, 255).join('');
  return clean || 'untitled';
}

/**
 * Streams every part named `files` of a multipart request into the blob store, never holding a
 * whole file in memory. The request fails as a whole (nothing is recorded) if any file breaks a
 * limit, so a client never has to guess which of its files were taken.
 */
export function readUpload(ctx: AppContext, blobs: BlobStore, limits: UploadLimits, discard: (stored: readonly UploadedFile[]) => Promise<void>): Promise<UploadedFile[]> {
  if (!ctx.is('multipart/form-data')) return Promise.reject(errors.unsupportedMediaType('Send the files as multipart/form-data, field "files".'));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // Browsers send a file name as UTF-8 bytes in `filename="…"` (RFC 7578 §4.2); busboy would
      // read them as Latin-1. `filename*=UTF-8''…` (RFC 5987) names its own charset either way.
      parser = busboy({ headers: ctx.req.headers, defParamCharset: 'utf8', limits: { files: limits.maxFiles, fileSize: limits.maxFileBytes, fields: 20, fieldSize: 1024, parts: limits.maxFiles + 20 } });
    } catch {
      reject(errors.badRequest('The multipart request is malformed (missing boundary?).'));
      return;
    }
    const pending: Array<Promise<UploadedFile>> = [];
    let failure: unknown = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      // Wait for blob writes in flight either way, so nothing is still writing when we answer.
      void Promise.allSettled(pending).then(async (results) => {
        const files = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const rejected = results.find((r) => r.status === 'rejected');
        const error = failure ?? (rejected as PromiseRejectedResult | undefined)?.reason ?? (files.length === 0 ? errors.validation([{ path: 'files', message: 'no file was sent' }]) : null);
        if (error === null) return resolve(files);
        // Nothing of a refused upload is kept: the files it did store go again.
        await discard(files).catch(() => undefined);
        reject(error);
      });
    };
    const streams = new Set<NodeJS.ReadableStream & { destroy(error?: Error): void }>();
    const fail = (err: unknown) => {
      failure ??= err;
      // Once we stop feeding the parser, a half-read file would never end: end it here.
      for (const stream of streams) stream.destroy(new Error('upload abandoned'));
      ctx.req.unpipe(parser);
      ctx.req.resume();
      finish();
    };
    parser.on('file', (field, stream, info) => {
      if (field !== 'files' || failure) {
        stream.resume();
        if (field !== 'files') fail(errors.validation([{ path: field, message: 'unknown field; send files in the "files" field' }]));
        return;
      }
      // Errors surface through the blob write below; without a listener a destroyed stream would
      // throw from an event emitter and take the process down.
      stream.on('error', () => undefined);
      streams.add(stream);
      stream.on('close', () => streams.delete(stream));
      stream.on('limit', () => stream.destroy(new BlobTooLargeError(limits.maxFileBytes)));
      const put = blobs.put(Readable.from(stream), { maxBytes: limits.maxFileBytes }).then((blob) => ({
        name: cleanFileName(info.filename ?? ''),
        declaredType: info.mimeType || 'application/octet-stream',
        blob,
      }));
      put.catch((err: unknown) => fail(err instanceof BlobTooLargeError ? tooLarge(limits.maxFileBytes) : err));
      pending.push(put);
    });
    parser.on('filesLimit', () => fail(new AppError(413, 'too_many_files', `At most ${limits.maxFiles} files per upload.`)));
    parser.on('error', () => fail(errors.badRequest('The multipart request is malformed.')));
    parser.on('close', finish);
    const interrupted = () => fail(errors.badRequest('The upload was interrupted.'));
    ctx.req.on('aborted', interrupted);
    ctx.req.on('error', interrupted);
    ctx.req.pipe(parser);
  });
}
