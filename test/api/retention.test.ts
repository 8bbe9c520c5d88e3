import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../server/clock.ts';
import { startTestServer } from '../helpers/server.ts';
import { setUp, signedIn, OWNER, type Client } from '../helpers/client.ts';

// Retention: each organisation keeps conversations, audit entries and usage records for the days
// it chose, and a daily purge (run shortly after start) deletes what is older — off the disk, with
// one audit entry per organisation saying what went. An organisation that set nothing keeps all.

const DAY = 86_400_000;
const PW = 'a sufficiently long password';

async function onDisk(dir: string, marker: string): Promise<boolean> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && (await readFile(path.join(entry.parentPath, entry.name)).catch(() => null))?.includes(marker)) return true;
  }
  return false;
}

describe('retention', () => {
  it('the purge deletes conversations not continued, audit entries and usage older than each organisation keeps them, and records what it removed', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lectern-retention-'));
    // Time moves on by the test's say: days pass between what it does.
    let offset = 0;
    const clock: Clock = { now: () => new Date(Date.now() + offset) };
    const oldMarker = `retention${randomBytes(6).toString('hex')}old`;
    const newMarker = `retention${randomBytes(6).toString('hex')}new`;
    try {
      let server = await startTestServer({ dataDir, appliance: { clock } });
      let kbId: string;
      let keep: Client;
      try {
        const { owner } = await setUp(server.url);
        kbId = (await owner.post('/api/v1/kbs', { name: 'Operations' })).json.id;
        await owner.upload(kbId, [{ name: 'safety.md', bytes: 'Always remove the chuck key before starting the lathe.' }]);
        await owner.settle(kbId);
        assert.equal((await owner.patch('/api/v1/settings', { retention: { auditDays: 7 } })).status, 400, 'the audit log is kept at least 30 days');
        const set = await owner.patch('/api/v1/settings', { retention: { conversationsDays: 30, auditDays: 30, usageDays: 30 } });
        assert.equal(set.status, 200, set.text);
        assert.deepEqual(set.json.retention, { conversationsDays: 30, auditDays: 30, usageDays: 30 });
        assert.deepEqual(set.json.retentionDefaults, { conversationsDays: null, auditDays: null, usageDays: null });
        assert.equal((await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: `Is the ${oldMarker} lathe safe?` })).status, 200);
        // Another organisation that set no retention keeps everything.
        assert.equal((await owner.post('/api/v1/organisations', { name: 'Keepers', admin: { name: 'Kim Keeper', email: 'kim@keepers.test', password: PW } })).status, 201);
        keep = await signedIn(server.url, 'kim@keepers.test', PW);
        const keepKb = (await keep.post('/api/v1/kbs', { name: 'Archive' })).json.id;
        assert.equal((await keep.post(`/api/v1/kbs/${keepKb}/ask`, { question: 'Anything here?' })).status, 200);

        offset = 35 * DAY;
        const later = await signedIn(server.url, OWNER.email, OWNER.password);
        assert.equal((await later.post(`/api/v1/kbs/${kbId}/ask`, { question: `Is the ${newMarker} lathe safe?` })).status, 200);
      } finally {
        await server.close();
      }
      assert.ok(await onDisk(dataDir, oldMarker), 'the old question is on disk before the purge');

      // Forty days after the first question, the server starts and the purge runs.
      offset = 40 * DAY;
      server = await startTestServer({ dataDir, appliance: { clock, retentionFirstRunMs: 0 } });
      try {
        const owner = await signedIn(server.url, OWNER.email, OWNER.password);
        let purge: Record<string, any> | undefined;
        for (let i = 0; !purge && i < 200; i++) {
          purge = ((await owner.get('/api/v1/audit?limit=500')).json.entries as Array<Record<string, any>>).find((e) => e['action'] === 'retention.purge');
          if (!purge) await sleep(50);
        }
        assert.ok(purge, 'the purge ran and recorded itself');
        assert.equal(purge['actor'].type, 'system');
        assert.equal(purge['details'].conversations, 1);
        assert.equal(purge['details'].messages, 2);
        assert.equal(purge['details'].usage, 1);
        assert.ok(purge['details'].audit >= 3, `old audit entries went (${purge['details'].audit})`);

        const conversations = (await owner.get('/api/v1/conversations')).json.conversations as Array<{ title: string }>;
        assert.deepEqual(conversations.map((c) => c.title), [`Is the ${newMarker} lathe safe?`], 'the conversation continued 5 days ago stays');
        const entries = (await owner.get('/api/v1/audit?limit=500')).json.entries as Array<{ at: string; action: string }>;
        const cutoff = new Date(clock.now().getTime() - 30 * DAY).toISOString();
        assert.ok(entries.every((e) => e.at >= cutoff), 'no audit entry older than 30 days is left');
        assert.ok(!entries.some((e) => e.action === 'settings.update'), 'including the one that set the retention');
        const usage = (await owner.get(`/api/v1/usage?from=${new Date(Date.now() - DAY).toISOString().slice(0, 10)}&to=${new Date(Date.now() + 50 * DAY).toISOString().slice(0, 10)}`)).json.rows as Array<{ messages: number }>;
        assert.equal(usage.reduce((n, r) => n + r.messages, 0), 1, 'only the recent answer is in the ledger');

        const kim = await signedIn(server.url, 'kim@keepers.test', PW);
        assert.equal((await kim.get('/api/v1/conversations')).json.conversations.length, 1, 'an organisation without retention keeps its conversations');
        assert.ok(!((await kim.get('/api/v1/audit?limit=500')).json.entries as Array<{ action: string }>).some((e) => e.action === 'retention.purge'));
      } finally {
        await server.close();
      }
      assert.equal(await onDisk(dataDir, oldMarker), false, 'the purged question is off the disk');
      assert.equal(await onDisk(dataDir, newMarker), true, 'the kept one is still there');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
