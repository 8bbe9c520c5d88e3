import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { startingListener } from './starting.ts';

describe('startingListener', () => {
  it('says the process lives, is not ready, and asks every other request to come back', async () => {
    const server = http.createServer(startingListener());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { status: string }).status, 'loading');
      const other = await fetch(`${base}/api/v1/kbs`);
      assert.equal(other.status, 503);
      assert.equal(other.headers.get('retry-after'), '2');
      assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'unavailable');
    } finally {
      server.close();
    }
  });
});
