import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), text: () => lines.join('\n') };
}

describe('logger redaction', () => {
  it('never writes request bodies, passwords, tokens or keys, however they are nested', () => {
    const { log, text } = capture();
    const parseError = Object.assign(new SyntaxError('Object contains forbidden prototype property'), { status: 400, body: '{"password":"hunter2-body"}' });
    log.error({ err: parseError }, 'request failed');
    log.info({ body: { password: 'hunter2-top' }, user: { password: 'hunter2-nested', apiKey: 'lectern_k1', token: 't0k', secret: 's3c' } }, 'x');
    log.info({ req: { headers: { authorization: 'Bearer lectern_k2', cookie: 'session=abc' } }, call: { authorization: 'Bearer lectern_k3', clientSecret: 'ek_1' } }, 'y');
    const written = text();
    for (const secret of ['hunter2', 'lectern_k', 't0k', 's3c', 'session=abc', 'ek_1']) assert.ok(!written.includes(secret), `${secret} reached the log`);
    assert.match(written, /forbidden prototype property/, 'the error itself is still logged');
    assert.match(written, /\[redacted\]/);
  });
});
