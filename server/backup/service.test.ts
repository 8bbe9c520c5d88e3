import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import type { Store } from '../store/store.ts';
import { BackupService } from './service.ts';

// The schedule as the server runs it, with the clock set just before Sunday 03:00 (UTC): it fires,
// backs up and, being Sunday's, runs the drill. Two processes sharing one store both fire; the
// lease lock lets one back up and the other finds that backup recorded and skips.

describe('scheduled backups', () => {
  let root: string;
  let store: Store;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'lectern-backup-schedule-'));
    await writeFile(path.join(root, 'backup.key'), randomBytes(32).toString('hex'));
    store = await openEmbeddedStore({ dir: path.join(root, 'data', 'store') });
    await store.collection('notes').insertOne({ _id: 'n1', text: 'kept' } as never);
  });
  after(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('fires at the time, on one of two processes sharing the store, and drills after the Sunday backup', async () => {
    const config = loadConfig({ DATA_DIR: path.join(root, 'data'), BACKUP_KEY_FILE: path.join(root, 'backup.key'), BACKUP_SCHEDULE: 'daily@03:00' });
    // 150 ms before Sunday 2026-12-06T03:00:00Z, running at real speed.
    const offset = Date.parse('2026-12-06T03:00:00Z') - 150 - Date.now();
    const clock = { now: () => new Date(Date.now() + offset) };
    const log = createLogger({ level: 'silent' });
    const processes = [new BackupService({ config, store, clock, log }), new BackupService({ config, store, clock, log })];
    await mkdir(path.join(root, 'backups', '.partial-2026-12-05T03-00-00.000Z'), { recursive: true });
    const schedules = processes.map((p) => p.schedule()!);
    try {
      for (const end = Date.now() + 20_000; Date.now() < end; ) {
        const status = await processes[0]!.status();
        if (status.lastDrill) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await Promise.all(schedules.map((s) => s.stop()));
    }
    const backups = await readdir(path.join(root, 'backups'));
    assert.equal(backups.length, 1, `one backup between the two processes, and the unfinished one of a crash removed: ${backups.join(', ')}`);
    assert.match(backups[0]!, /^2026-12-06T03-00-00\.\d{3}Z$/);
    const status = await processes[1]!.status();
    assert.equal(status.lastSuccess?.backup, backups[0]);
    assert.equal(status.lastDrill?.ok, true, status.lastDrill?.message ?? 'no drill');
    assert.equal(status.nextRun, '2026-12-07T03:00:00.000Z');
    assert.deepEqual((await processes[0]!.list())[0]?.verified?.ok, true);
  });
});
