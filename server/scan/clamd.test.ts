import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clamdMissing, EICAR, EICAR_SIGNATURE, startClamd, type Clamd } from '../../test/helpers/clamd.ts';
import { clamdTarget, ClamdScanner, parseReply } from './clamd.ts';
import { ScanError, ScannerUnavailableError } from './scanner.ts';

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

/** `total` bytes of `fill`, produced lazily in 64 KiB pieces. */
async function* stream(total: number, fill = 0x41): AsyncIterable<Uint8Array> {
  const piece = Buffer.alloc(64 * 1024, fill);
  for (let sent = 0; sent < total; sent += piece.byteLength) yield piece.subarray(0, Math.min(piece.byteLength, total - sent));
}

describe('CLAMAV_URL', () => {
  it('names a unix socket or a TCP host and port, nothing else', () => {
    assert.deepEqual(clamdTarget('unix:///run/clamav/clamd.ctl'), { path: '/run/clamav/clamd.ctl' });
    assert.deepEqual(clamdTarget('tcp://clamav:3310'), { host: 'clamav', port: 3310 });
    assert.deepEqual(clamdTarget('tcp://[::1]:3310'), { host: '::1', port: 3310 });
    for (const bad of ['unix://relative/clamd.ctl', 'tcp://clamav', 'http://clamav:3310', 'clamd.ctl']) assert.throws(() => clamdTarget(bad), bad);
  });

  it('reads each kind of reply', () => {
    assert.deepEqual(parseReply('stream: OK'), { outcome: 'clean' });
    assert.deepEqual(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND'), { outcome: 'infected', signature: 'Win.Test.EICAR_HDB-1' });
    assert.deepEqual(parseReply('INSTREAM size limit exceeded. ERROR'), { outcome: 'too_large' });
    assert.throws(() => parseReply('stream: Can\'t allocate memory ERROR'), ScanError);
  });
});

describe('the clamd client against the real daemon', { skip: clamdMissing() }, () => {
  let clamd: Clamd;
  before(async () => {
    clamd = await startClamd({ streamMaxLength: '1M', tcp: true });
  });
  after(() => clamd?.close());

  for (const via of ['unix', 'tcp'] as const) {
    const scanner = () => new ClamdScanner({ url: via === 'unix' ? clamd.url : (clamd.tcpUrl as string), timeoutMs: 10_000 });

    it(`(${via}) answers PING`, async () => {
      await scanner().ping();
    });

    it(`(${via}) finds EICAR and names its signature`, async () => {
      const verdict = await scanner().scan(bytes(EICAR));
      assert.equal(verdict.outcome, 'infected');
      assert.ok(verdict.outcome === 'infected' && verdict.signature.startsWith(EICAR_SIGNATURE), JSON.stringify(verdict));
    });

    it(`(${via}) calls a harmless file clean, streamed in frames`, async () => {
      assert.deepEqual(await scanner().scan(bytes('Opening hours: Monday to Friday.')), { outcome: 'clean' });
      assert.deepEqual(await scanner().scan(stream(900 * 1024)), { outcome: 'clean' });
      assert.deepEqual(await scanner().scan(stream(0)), { outcome: 'clean' });
    });

    it(`(${via}) reports a file beyond StreamMaxLength as too large, never clean`, async () => {
      // 8 MB against a 1 MB limit: clamd answers and closes while the client is still sending, and
      // the broken pipe may beat its answer; either way the verdict is the same. Five times, for the race.
      for (let i = 0; i < 5; i++) assert.deepEqual(await scanner().scan(stream(8 * 1024 * 1024)), { outcome: 'too_large' });
    });
  }

  it('stops reading the source once clamd has answered', async () => {
    let produced = 0;
    async function* counted(): AsyncIterable<Uint8Array> {
      for await (const piece of stream(64 * 1024 * 1024)) {
        produced += piece.byteLength;
        yield piece;
      }
    }
    const scanner = new ClamdScanner({ url: clamd.url, timeoutMs: 10_000 });
    assert.deepEqual(await scanner.scan(counted()), { outcome: 'too_large' });
    assert.ok(produced < 16 * 1024 * 1024, `read ${produced} bytes of a 64 MB source after clamd refused it at 1 MB`);
  });

  it('cannot reach a stopped daemon, and says so as "unavailable"', async () => {
    const down = await startClamd({ started: false });
    try {
      const scanner = new ClamdScanner({ url: down.url, timeoutMs: 2_000 });
      await assert.rejects(scanner.ping(), ScannerUnavailableError);
      await assert.rejects(scanner.scan(bytes(EICAR)), (err: Error) => err instanceof ScannerUnavailableError && /unreachable/.test(err.message));
      await down.start();
      await scanner.ping();
    } finally {
      await down.close();
    }
  });
});

describe('a daemon that never answers', () => {
  let server: Server;
  let dir: string;
  const sockets: Socket[] = [];
  let received = 0;
  before(async () => {
    // Only this case uses a stand-in: it takes everything and answers nothing.
    dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-mute-'));
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (d) => (received += d.byteLength));
    });
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'mute.sock'), resolve));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('times out as unavailable, after sending the whole stream', async () => {
    const scanner = new ClamdScanner({ url: `unix://${path.join(dir, 'mute.sock')}`, timeoutMs: 300, pingTimeoutMs: 200 });
    const started = performance.now();
    await assert.rejects(scanner.scan(bytes('hello')), (err: Error) => err instanceof ScannerUnavailableError && /did not answer within 0.3 s/.test(err.message));
    const ms = performance.now() - started;
    assert.ok(ms >= 290 && ms < 2_000, `gave up after ${ms} ms`);
    assert.equal(received, 'zINSTREAM\0'.length + 4 + 5 + 4);
    await assert.rejects(scanner.ping(), ScannerUnavailableError);
  });

  it('gives up at once when the caller aborts', async () => {
    const scanner = new ClamdScanner({ url: `unix://${path.join(dir, 'mute.sock')}`, timeoutMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 50);
    await assert.rejects(scanner.scan(bytes('hello'), controller.signal), /job cancelled/);
  });
});
