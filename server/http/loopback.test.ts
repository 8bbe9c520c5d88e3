import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from './loopback.ts';

describe('isLoopbackHost', () => {
  it('counts 127.0.0.0/8, ::1 and localhost as loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
  });

  it('counts every other address or name as reachable', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', '128.0.0.1', 'fe80::1', 'lectern.example.org', 'localhost.example.org']) assert.ok(!isLoopbackHost(host), host);
  });
});
