import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { errors, toErrorBody } from '../errors.ts';

/**
 * Answers while the appliance is still opening its parts (models, store, search): the process is
 * alive (/healthz 200), not ready (/readyz 503 `loading`), and any other request is asked to come
 * back shortly rather than left waiting on a socket nobody reads.
 */
export function startingListener(): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') return json(503, { status: 'loading', components: [] });
    const { status, body, headers } = toErrorBody(errors.unavailable('Lectern is starting; try again in a moment.'), randomUUID());
    json(status, body, { ...headers, 'retry-after': '2' });
  };
}
