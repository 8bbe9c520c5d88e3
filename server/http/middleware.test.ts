import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { errors } from '../errors.ts';
import { capturingLogger } from '../../test/helpers/logs.ts';
import { errorHandler, requestContext } from './middleware.ts';

describe('error handler', () => {
  const { log, lines } = capturingLogger();
  let server: http.Server;
  let url: string;
  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(requestContext(log));
    app.use(errorHandler({ bodyLimit: '1kb' }));
    app.use((ctx) => {
      if (ctx.path === '/bug') throw new Error('connection string mongodb://admin:hunter2@db');
      if (ctx.path === '/throw-string') throw 'a string';
      if (ctx.path === '/known') throw errors.conflict('Already there.');
      if (ctx.path === '/koa') ctx.throw(418, 'teapot');
      ctx.body = { ok: true };
    });
    server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('hides unknown errors behind a generic 500 and logs them with the trace id', async () => {
    for (const path of ['/bug', '/throw-string']) {
      const res = await fetch(url + path);
      const body = (await res.json()) as { error: { code: string; message: string; traceId: string } };
      assert.equal(res.status, 500);
      assert.equal(body.error.code, 'internal');
      assert.doesNotMatch(JSON.stringify(body), /hunter2|mongodb|a string/);
      assert.equal(body.error.traceId, res.headers.get('x-request-id'));
      const logged = lines.find((l) => l['reqId'] === body.error.traceId && l['level'] === 'error');
      assert.ok(logged, 'the failure is logged with the request id');
    }
    assert.match(JSON.stringify(lines), /hunter2/, 'details go to the log only');
  });

  it('keeps catalogue errors and exposed Koa errors as they are', async () => {
    const known = await fetch(`${url}/known`);
    assert.equal(known.status, 409);
    assert.equal(((await known.json()) as { error: { code: string } }).error.code, 'conflict');
    const koa = await fetch(`${url}/koa`);
    assert.equal(koa.status, 418);
    assert.equal(((await koa.json()) as { error: { message: string } }).error.message, 'teapot');
  });
});
