import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
};

async function fileAt(root: string, urlPath: string): Promise<{ file: string; size: number } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const file = path.join(root, path.normalize(decoded));
  // path.join normalises `..`; anything that escapes the root is simply not one of our files.
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    const s = await stat(file);
    return s.isFile() ? { file, size: s.size } : null;
  } catch {
    return null;
  }
}

/**
 * Serves the built console. Unknown paths that are not API paths get index.html, so client-side
 * routes survive a reload. Assets carry a content hash in their URL and may be cached; the
 * page itself never is, so an upgrade shows at the next load.
 */
export function serveConsole(root: string, isApiPath: (p: string) => boolean): Middleware {
  const absRoot = path.resolve(root);
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || isApiPath(ctx.path)) return next();
    const asset = ctx.path !== '/' ? await fileAt(absRoot, ctx.path) : null;
    // A missing asset is a 404, not the page: a stale script URL must not be answered with HTML.
    if (!asset && path.extname(ctx.path) !== '') return next();
    const found = asset ?? (await fileAt(absRoot, '/index.html'));
    if (!found) {
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'The console has not been built. Run `npm run build:web` (npm start does this).\n';
      return;
    }
    const isPage = found.file.endsWith('.html');
    ctx.type = TYPES[path.extname(found.file)] ?? 'application/octet-stream';
    ctx.length = found.size;
    ctx.set('cache-control', isPage ? 'no-cache' : 'public, max-age=31536000, immutable');
    // HEAD answers as GET would, less the body: a null body would make Koa say 204 No Content.
    if (ctx.method === 'HEAD') ctx.status = 200;
    else ctx.body = createReadStream(found.file);
  };
}
