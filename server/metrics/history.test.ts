import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HISTORY_MINUTES, MetricsHistory } from './history.ts';
import { noMetrics } from './recorder.ts';

describe('metrics history', () => {
  it('keeps a point per minute: API requests, server errors, p95, answers, first audio, documents', () => {
    let now = Date.parse('2026-12-06T10:00:30Z');
    const history = new MetricsHistory({ clock: { now: () => new Date(now) } });
    const recorder = history.wrap(noMetrics);
    for (let i = 1; i <= 100; i++) recorder.http.request('GET', '/api/v1/kbs', 200, i / 1000);
    recorder.http.request('POST', '/api/v1/kbs/:kbId/ask', 503, 0.2);
    recorder.http.request('GET', '/healthz', 200, 0.001);
    recorder.http.request('GET', 'console', 200, 0.001);
    recorder.llm.generation('extractive', null, 0, 0.05);
    recorder.voice.turn({ transcriptMs: 100, firstTokenMs: 200, firstAudioMs: 400 });
    recorder.voice.turn({ transcriptMs: 100, firstTokenMs: 200, firstAudioMs: 600 });
    recorder.voice.turn({ transcriptMs: 100, firstTokenMs: null, firstAudioMs: null });
    recorder.ingest.document('ready', 12);
    recorder.ingest.document('failed', 0);
    now += 2 * 60_000;
    recorder.http.request('GET', '/v1/models', 200, 0.01);

    const points = history.points(3);
    assert.deepEqual(points.map((p) => p.at), ['2026-12-06T10:00:00.000Z', '2026-12-06T10:01:00.000Z', '2026-12-06T10:02:00.000Z']);
    assert.deepEqual(points[0], { at: '2026-12-06T10:00:00.000Z', requests: 101, serverErrors: 1, p95Ms: 96, answers: 1, firstAudioMs: 600, documents: 1, pages: 12 });
    assert.deepEqual(points[1], { at: '2026-12-06T10:01:00.000Z', requests: 0, serverErrors: 0, p95Ms: null, answers: 0, firstAudioMs: null, documents: 0, pages: 0 });
    assert.equal(points[2]?.requests, 1);
  });

  it('forgets what is older than a day, however long the ring went unused', () => {
    let now = Date.parse('2026-12-06T10:00:00Z');
    const history = new MetricsHistory({ clock: { now: () => new Date(now) } });
    history.wrap(noMetrics).http.request('GET', '/api/v1/me', 200, 0.01);
    now += HISTORY_MINUTES * 60_000;
    assert.equal(history.points(HISTORY_MINUTES).reduce((n, p) => n + p.requests, 0), 0, 'the same slot, a day later, is a new minute');
  });
});
