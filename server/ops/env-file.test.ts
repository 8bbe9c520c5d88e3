import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EnvFileError, loadEnvFile } from './env-file.ts';

describe('loadEnvFile', () => {
  let root: string;
  const dirWith = async (name: string, text: string | null): Promise<string> => {
    const dir = path.join(root, name);
    await mkdir(dir);
    if (text !== null) await writeFile(path.join(dir, '.env'), text);
    return dir;
  };
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-env-file-'));
  });
  after(async () => {
    for (const name of Object.keys(process.env).filter((n) => n.startsWith('H1_ENV_'))) delete process.env[name];
    await rm(root, { recursive: true, force: true });
  });

  it('loads NAME=value lines, comments, export and quoted values over several lines; the environment wins', async () => {
    process.env['H1_ENV_KEPT'] = 'from the environment';
    const dir = await dirWith('good', '# settings\nH1_ENV_PLAIN=one\nexport H1_ENV_EXPORTED=two\nH1_ENV_KEPT=from the file\nH1_ENV_MULTI="first\nsecond"\n\nH1_ENV_EMPTY=\n');
    assert.equal(loadEnvFile(dir), path.join(dir, '.env'));
    assert.equal(process.env['H1_ENV_PLAIN'], 'one');
    assert.equal(process.env['H1_ENV_EXPORTED'], 'two');
    assert.equal(process.env['H1_ENV_KEPT'], 'from the environment');
    assert.equal(process.env['H1_ENV_MULTI'], 'first\nsecond');
  });

  it('is fine without a .env', async () => {
    assert.equal(loadEnvFile(await dirWith('none', null)), null);
  });

  it('refuses a line that is not NAME=value, naming it, and loads nothing', async () => {
    const dir = await dirWith('bad', 'H1_ENV_BEFORE=x\nH1_ENV_TYPO: y\n');
    assert.throws(() => loadEnvFile(dir), (err: unknown) => err instanceof EnvFileError && err.message === `${path.join(dir, '.env')} line 2 is not NAME=value or a # comment`);
    assert.equal(process.env['H1_ENV_BEFORE'], undefined);
  });

  it('refuses a .env it cannot read', async () => {
    const dir = await dirWith('unreadable', null);
    await mkdir(path.join(dir, '.env'));
    assert.throws(() => loadEnvFile(dir), (err: unknown) => err instanceof EnvFileError && err.message.endsWith('.env cannot be read (EISDIR)'));
  });
});
