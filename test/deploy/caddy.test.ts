import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { X509Certificate, createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { CADDYFILE, hasCaddy, startProjectCaddy, viaCaddy, type CaddyProxy } from '../helpers/caddy.ts';
import { chromium } from 'playwright-core';
import { setUp, OWNER, type Client } from '../helpers/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The project's own Caddyfile (LAN mode: `tls internal`, a test name) in front of a real Lectern
// that trusts one proxy hop, as a deployment runs them.

const WEB_DIST = path.resolve(import.meta.dirname, '../../web/dist/index.html');
const MAX_BODY = 1024 * 1024;

/** `caddy validate` on the Caddyfile with `env`, and the JSON config it adapts to. */
function caddyCheck(env: Record<string, string>): { validate: ReturnType<typeof spawnSync>; config: any } {
  const run = (cmd: string) => spawnSync('caddy', [cmd, '--config', CADDYFILE, '--adapter', 'caddyfile'], { env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent', ...env }, encoding: 'utf8' });
  const adapted = run('adapt');
  return { validate: run('validate'), config: adapted.status === 0 ? JSON.parse(adapted.stdout) : null };
}

const skip = !hasCaddy() && !process.env['CI'] ? 'caddy is not installed (apt-get install caddy); required in CI' : false;

describe('the Caddyfile', { skip }, () => {
  it('validates in both modes, with a public certificate by default and the app\'s upload size as the body limit', () => {
    const acme = caddyCheck({ LECTERN_DOMAIN: 'lectern.example.org' });
    assert.equal(acme.validate.status, 0, String(acme.validate.stderr));
    assert.match(String(acme.validate.stdout) + String(acme.validate.stderr), /Valid configuration/);
    // No issuer named: automatic HTTPS uses the public ACME CAs.
    assert.equal(acme.config.apps.tls, undefined);
    assert.match(JSON.stringify(acme.config.apps.http.servers), /"max_size":1073741824/);

    const lan = caddyCheck({ LECTERN_DOMAIN: 'lectern.lan', LECTERN_TLS: 'internal' });
    assert.equal(lan.validate.status, 0, String(lan.validate.stderr));
    assert.deepEqual(lan.config.apps.tls.automation.policies, [{ subjects: ['lectern.lan'], issuers: [{ module: 'internal' }] }]);
    assert.equal(lan.config.apps.pki.certificate_authorities.local.install_trust, false);
  });

  it('refuses an unknown TLS mode instead of serving without HTTPS', () => {
    const wrong = caddyCheck({ LECTERN_DOMAIN: 'lectern.lan', LECTERN_TLS: 'off' });
    assert.notEqual(wrong.validate.status, 0);
  });
});

describe('Lectern behind the project\'s Caddyfile', { skip }, () => {
  let server: TestServer;
  let caddy: CaddyProxy;
  let owner: Client;
  let kbId: string;
  let origin: string;
  const withSession = (headers: Record<string, string> = {}) => ({ cookie: owner.cookie!, origin, ...headers });

  before(async () => {
    // The console is built by `npm test` (and `npm start`) before tests run; a bare run builds it.
    if (!existsSync(WEB_DIST)) spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../scripts/build-web.ts')], { stdio: 'inherit' });
    server = await startTestServer({ env: { TRUST_PROXY: '1' } });
    ({ owner } = await setUp(server.url));
    kbId = (await owner.post('/api/v1/kbs', { name: 'Front desk' })).json.id;
    caddy = await startProjectCaddy(server.url, { env: { LECTERN_MAX_BODY_BYTES: String(MAX_BODY) } });
    origin = caddy.url;
  });
  after(async () => {
    await caddy?.close();
    await server?.close();
  });

  it('redirects plain HTTP to HTTPS and sends HSTS', async () => {
    const redirect = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: caddy.httpPort, path: '/kbs?x=1', headers: { host: caddy.domain } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(redirect.status, 308);
    // Caddy 2.6 (Debian's) leaves a non-default HTTPS port out of the redirect; deployments use 443.
    const to = new URL(redirect.location ?? '');
    assert.deepEqual([to.protocol, to.hostname, to.pathname + to.search], ['https:', caddy.domain, '/kbs?x=1']);

    const page = await viaCaddy(caddy, 'GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['strict-transport-security'], 'max-age=31536000');
    assert.match(page.body.toString(), /<html/i);
  });

  it('compresses the console script with zstd or gzip, caches hashed assets for a year and the page not at all', async () => {
    const page = await viaCaddy(caddy, 'GET', '/', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(page.headers['cache-control'], 'no-cache');
    const html = gunzipSync(page.body).toString();
    const script = /src="(\/assets\/app\.js\?v=[0-9a-f]{12})"/.exec(html)?.[1];
    assert.ok(script, 'index.html names the hashed script');

    const plain = await viaCaddy(caddy, 'GET', script);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable', 'one Cache-Control, not the app\'s and Caddy\'s both');

    const gzip = await viaCaddy(caddy, 'GET', script, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gzip.body), plain.body);
    const zstd = await viaCaddy(caddy, 'GET', script, { headers: { 'accept-encoding': 'zstd, gzip' } });
    assert.equal(zstd.headers['content-encoding'], 'zstd');
    assert.deepEqual(zstdDecompressSync(zstd.body), plain.body);
    assert.ok(zstd.body.length < plain.body.length / 2, `zstd ${zstd.body.length} B of ${plain.body.length} B`);
    assert.equal(zstd.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('passes an upload\'s live progress through as server-sent events while the stream stays open', async () => {
    const stages: Array<{ stage: string; at: number }> = [];
    let ended: number | null = null;
    let encoding: string | undefined = 'unread';
    const stream = httpsRequest({
      host: '127.0.0.1',
      port: caddy.httpsPort,
      servername: caddy.domain,
      ca: caddy.ca,
      path: `/api/v1/kbs/${kbId}/events`,
      // A browser always offers gzip; the stream must still arrive event by event.
      headers: { host: `${caddy.domain}:${caddy.httpsPort}`, 'accept-encoding': 'gzip, zstd', ...withSession() },
    });
    const sawReady = new Promise<void>((resolve, reject) => {
      stream.on('response', (res) => {
        encoding = res.headers['content-encoding'];
        assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          for (const m of buf.matchAll(/event: document\ndata: (.*)\n\n/g)) stages.push({ stage: (JSON.parse(m[1]!) as { stage: string }).stage, at: performance.now() });
          buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
          if (stages.some((s) => s.stage === 'ready')) resolve();
        });
        res.on('end', () => (ended = performance.now()));
        res.on('error', () => undefined);
      });
      stream.on('error', reject);
    });
    stream.end();
    // The stream is open once Caddy has passed the response head on.
    await new Promise<void>((resolve) => stream.once('response', () => resolve()));

    const form = multipart([{ name: 'arrival.txt', bytes: Buffer.from('Visitors sign in at the front desk and wear a badge.') }]);
    const upload = await viaCaddy(caddy, 'POST', `/api/v1/kbs/${kbId}/documents`, { headers: withSession({ 'content-type': form.type }), body: form.body });
    assert.equal(upload.status, 202, upload.body.toString());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sawReady, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no ready event; saw ${stages.map((s) => s.stage).join(',')}`)), 30_000)))]);
    clearTimeout(timer);
    assert.equal(encoding, undefined, 'event streams are not compressed');
    assert.equal(stages[0]?.stage, 'queued');
    assert.ok(stages.some((s) => s.stage === 'parsing'));
    assert.equal(ended, null, 'every event arrived while the stream was still open');
    stream.destroy();
  });

  it('refuses a body over the limit itself (413) and passes one under it', async () => {
    const big = multipart([{ name: 'big.txt', bytes: Buffer.alloc(MAX_BODY + 1, 'a') }]);
    const refused = await viaCaddy(caddy, 'POST', `/api/v1/kbs/${kbId}/documents`, { headers: withSession({ 'content-type': big.type }), body: big.body });
    assert.equal(refused.status, 413);
    assert.equal(refused.headers['x-request-id'], undefined, 'Caddy answered; the request never reached Lectern');
    const small = multipart([{ name: 'small.txt', bytes: Buffer.alloc(MAX_BODY - 4096, 'b') }]);
    const passed = await viaCaddy(caddy, 'POST', `/api/v1/kbs/${kbId}/documents`, { headers: withSession({ 'content-type': small.type }), body: small.body });
    assert.equal(passed.status, 202, passed.body.toString());
    const names = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents.map((d: { name: string }) => d.name);
    assert.ok(names.includes('small.txt') && !names.includes('big.txt'));
  });

  it('serves the console to Chromium over HTTPS as a secure context, with its script compressed', { skip: existsSync('/usr/bin/chromium') ? false : '/usr/bin/chromium is absent' }, async () => {
    // Chromium resolves the test name to loopback and accepts exactly the certificate Caddy
    // issued (pinned by its public key), so the page is https with no certificate error.
    const leaf = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: caddy.httpsPort, servername: caddy.domain, ca: caddy.ca }, () => (resolve(socket.getPeerCertificate().raw), socket.end()));
      socket.once('error', reject);
    });
    const spki = createHash('sha256').update(new X509Certificate(leaf).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run', `--host-resolver-rules=MAP ${caddy.domain} 127.0.0.1`, `--ignore-certificate-errors-spki-list=${spki}`],
    });
    try {
      const context = await browser.newContext();
      const [name, value] = owner.cookie!.split('=');
      await context.addCookies([{ name: name!, value: value!, url: caddy.url }]);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      const script = page.waitForResponse((r) => new URL(r.url()).pathname === '/assets/app.js');
      const response = await page.goto(`${caddy.url}/`);
      assert.equal(response?.status(), 200);
      assert.match((await response!.securityDetails())?.issuer ?? '', /Caddy Local Authority/);
      assert.equal(await (await script).headerValue('content-encoding'), 'zstd');
      await page.getByRole('heading', { level: 1, name: `Welcome, ${OWNER.name}` }).waitFor({ timeout: 15_000 });
      // The microphone is offered only to secure contexts.
      assert.deepEqual(await page.evaluate(() => [window.isSecureContext, typeof navigator.mediaDevices?.getUserMedia]), [true, 'function']);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });

  it('hands Lectern the address Caddy saw, not one the client claims', async () => {
    const login = await viaCaddy(caddy, 'POST', '/api/v1/auth/login', {
      headers: { 'content-type': 'application/json', origin, 'x-forwarded-for': '203.0.113.7' },
      body: JSON.stringify({ email: 'ada@riverside.test', password: 'wrong password entirely' }),
    });
    assert.equal(login.status, 401);
    const entries = (await owner.get('/api/v1/audit?limit=5')).json.entries as Array<{ action: string; ip: string | null }>;
    const failed = entries.find((e) => e.action === 'login');
    assert.ok(failed, `no login entry in ${JSON.stringify(entries)}`);
    assert.equal(failed.ip, '127.0.0.1');
  });
});

/** A multipart/form-data body with `files` parts, as the console sends an upload. */
function multipart(files: Array<{ name: string; bytes: Buffer }>): { type: string; body: Buffer } {
  const boundary = `lectern-${Math.random().toString(16).slice(2)}`;
  const parts = files.flatMap((f) => [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${f.name}"\r\nContent-Type: text/plain\r\n\r\n`),
    f.bytes,
    Buffer.from('\r\n'),
  ]);
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]) };
}
