import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openPrometheusMetrics } from './prometheus.ts';

const gauge = (body: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);

describe('the Prometheus registry', () => {
  it('reports backups pushed through recorder.backups', async () => {
    const metrics = openPrometheusMetrics();
    let body = (await metrics.scrape()).body;
    assert.equal(gauge(body, 'lectern_backup_last_success_timestamp_seconds'), 0, 'none yet');
    metrics.recorder.backups.lastSuccess(new Date('2026-12-06T03:00:00Z'));
    metrics.recorder.backups.drill(false, new Date('2026-12-06T03:10:00Z'));
    body = (await metrics.scrape()).body;
    assert.equal(gauge(body, 'lectern_backup_last_success_timestamp_seconds'), Date.parse('2026-12-06T03:00:00Z') / 1000);
    assert.equal(gauge(body, 'lectern_backup_drill_timestamp_seconds'), Date.parse('2026-12-06T03:10:00Z') / 1000);
    assert.equal(gauge(body, 'lectern_backup_drill_success'), 0);
  });

  it('reads backups from the backup service once per scrape when it is watched', async () => {
    const metrics = openPrometheusMetrics();
    let reads = 0;
    metrics.watch({ backups: async () => (reads++, { lastSuccessAt: new Date('2026-12-05T03:00:00Z'), lastDrill: { ok: true, at: new Date('2026-12-05T04:00:00Z') } }) });
    const body = (await metrics.scrape()).body;
    assert.equal(gauge(body, 'lectern_backup_last_success_timestamp_seconds'), Date.parse('2026-12-05T03:00:00Z') / 1000);
    assert.equal(gauge(body, 'lectern_backup_drill_timestamp_seconds'), Date.parse('2026-12-05T04:00:00Z') / 1000);
    assert.equal(gauge(body, 'lectern_backup_drill_success'), 1);
    assert.equal(reads, 1);
  });

  it('reports the free and total space of the file system under DATA_DIR', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-disk-'));
    const metrics = openPrometheusMetrics();
    metrics.watch({ dataDir: dir });
    const body = (await metrics.scrape()).body;
    const free = gauge(body, 'lectern_data_dir_free_bytes');
    const size = gauge(body, 'lectern_data_dir_size_bytes');
    assert.ok(free > 0 && size >= free, `${free} of ${size}`);
    await rm(dir, { recursive: true });
  });

  it('keeps two registries apart (two servers in one process)', async () => {
    const [a, b] = [openPrometheusMetrics(), openPrometheusMetrics()];
    a.recorder.search.search('keyword', 0.01);
    assert.match((await a.scrape()).body, /^lectern_search_duration_seconds_count\{mode="keyword"\} 1$/m);
    assert.doesNotMatch((await b.scrape()).body, /^lectern_search_duration_seconds_count/m);
  });

  it('still answers a scrape when the store behind the queue and the backups cannot (readiness reports that)', async () => {
    const metrics = openPrometheusMetrics();
    metrics.watch({ queue: () => Promise.reject(new Error('store closed')), backups: () => Promise.reject(new Error('store closed')), readiness: async () => ({ status: 'not_ready', components: [] }) });
    const body = (await metrics.scrape()).body;
    assert.equal(gauge(body, 'lectern_ready'), 0);
    assert.doesNotMatch(body, /^lectern_queue_jobs\{/m);
  });
});
