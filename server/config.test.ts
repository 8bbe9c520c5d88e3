import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.HOST, '0.0.0.0');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.equal(c.LOG_LEVEL, 'info');
    assert.equal(c.TRUST_PROXY, 0);
    assert.equal(c.PUBLIC_URL, undefined);
  });

  it('coerces and validates', () => {
    const c = loadConfig({ PORT: '9000', TRUST_PROXY: 'true', PUBLIC_URL: 'https://kb.example.org', SESSION_TTL_HOURS: '2' });
    assert.equal(c.PORT, 9000);
    assert.equal(c.TRUST_PROXY, 1);
    assert.equal(c.SESSION_TTL_HOURS, 2);
  });

  it('lists every problem at once', () => {
    assert.throws(
      () => loadConfig({ PORT: '70000', LOG_LEVEL: 'chatty', BODY_LIMIT: 'huge', TRUST_PROXY: 'maybe' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), ['BODY_LIMIT', 'LOG_LEVEL', 'PORT', 'TRUST_PROXY']);
        return true;
      },
    );
  });

  it('reads secrets from NAME_FILE, trims the trailing newline, and refuses both forms', () => {
    const files: Record<string, string> = { '/run/secrets/setup': 'abcdefghijklmnopqrstuvwxyz\n' };
    const read = (f: string) => {
      const v = files[f];
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    };
    assert.equal(loadConfig({ SETUP_TOKEN_FILE: '/run/secrets/setup' }, read).SETUP_TOKEN, 'abcdefghijklmnopqrstuvwxyz');
    assert.throws(() => loadConfig({ SETUP_TOKEN_FILE: '/run/secrets/none' }, read), /SETUP_TOKEN_FILE: cannot read \/run\/secrets\/none \(ENOENT\)/);
    assert.throws(() => loadConfig({ SETUP_TOKEN: 'abcdefghijklmnopqrstuvwxyz', SETUP_TOKEN_FILE: '/run/secrets/setup' }, read), /either SETUP_TOKEN or SETUP_TOKEN_FILE/);
  });

  it('treats empty variables as unset', () => {
    assert.equal(loadConfig({ PORT: '', PUBLIC_URL: '' }).PORT, 8080);
  });
});

describe('generated configuration docs', () => {
  it('matches the schema', async () => {
    const { readFile } = await import('node:fs/promises');
    const { configTable } = await import('../scripts/config-table.ts');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const table = /<!-- config-table:start[^>]*-->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
    assert.equal(table, configTable(), 'regenerate with `node scripts/config-table.ts`');
  });

  it('.env.example matches the schema', async () => {
    const { readFile } = await import('node:fs/promises');
    const { envExample } = await import('../scripts/config-table.ts');
    assert.equal(await readFile(new URL('../.env.example', import.meta.url), 'utf8'), envExample(), 'regenerate with `node scripts/config-table.ts --env > .env.example`');
  });
});
