import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import { errors } from '../errors.ts';
import { createLogger } from '../logger.ts';
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

describe('request log', () => {
  const raw: string[] = [];
  let server: http.Server;
  let url: string;
  const serve = async (level: string) => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger({ level, destination });
    const app = new Koa();
    app.use(requestContext(log, { quiet: (ctx) => ctx.path === '/healthz' }));
    app.use(errorHandler({ bodyLimit: '1kb' }));
    app.use((ctx) => {
      if (ctx.path === '/known') throw errors.conflict('Already there.');
      (ctx.state.log as typeof log).info({ login: { password: 'hunter2' } }, 'handled');
      ctx.body = { ok: true };
    });
    server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const close = () => new Promise<void>((r) => server.close(() => r()));

  it('writes the request id once on every line of a request', async () => {
    raw.length = 0;
    await serve('info');
    try {
      await fetch(`${url}/work`, { headers: { 'x-request-id': 'once-1' } });
      await fetch(`${url}/known`, { headers: { 'x-request-id': 'once-2' } });
    } finally {
      await close();
    }
    const lines = raw.filter((l) => l.includes('once-'));
    assert.equal(lines.length, 4, raw.join('\n')); // handled + request, catalogue error + request
    for (const line of lines) assert.equal(line.match(/"reqId"/g)?.length, 1, line);
    assert.ok(!raw.join('\n').includes('hunter2'), 'what the handler logs is still redacted');
    const request = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'request' && l['reqId'] === 'once-1');
    assert.deepEqual(request?.['req'], { method: 'GET', path: '/work', ip: '127.0.0.1' });
  });

  it('logs quiet requests at debug only', async () => {
    raw.length = 0;
    await serve('info');
    try {
      await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'probe-1' } });
      await fetch(`${url}/work`, { headers: { 'x-request-id': 'work-1' } });
    } finally {
      await close();
    }
    assert.ok(raw.some((l) => l.includes('"work-1"') && l.includes('"msg":"request"')));
    assert.ok(!raw.some((l) => l.includes('"probe-1"') && l.includes('"msg":"request"')), 'no info line for a probe');
    raw.length = 0;
    await serve('debug');
    try {
      await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'probe-2' } });
    } finally {
      await close();
    }
    const probe = raw.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['reqId'] === 'probe-2' && l['msg'] === 'request');
    assert.equal(probe?.['level'], 'debug');
  });
});
