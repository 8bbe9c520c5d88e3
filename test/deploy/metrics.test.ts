import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setUp } from '../helpers/client.ts';
import { exportedNames, metricNamesIn } from '../helpers/metrics.ts';
import { ScriptedEngine } from '../fixtures/scripted-engine.ts';

// The alerting rules and the Grafana dashboard (#12, item 6): promtool validates the rules and
// runs their unit tests, and every metric an alert or a panel reads is one a running Lectern
// exports (a renamed metric would otherwise leave an alert that can never fire).

const root = path.resolve(import.meta.dirname, '../..');
const rulesFile = path.join(root, 'deploy/prometheus/alerts.yml');
const rulesTests = path.join(root, 'deploy/prometheus/alerts.test.yml');
const dashboardFile = path.join(root, 'deploy/grafana/lectern.json');

/** Series Prometheus itself makes for every scrape target, not exported by Lectern. */
const PROMETHEUS_OWN = new Set(['up']);

/** promtool on PATH (Debian's `prometheus`); under CI its absence is an error (.ci/run installs it). */
function promtool(): string | null {
  const candidate = process.env['PROMTOOL'] ?? 'promtool';
  if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  if (process.env['CI'] === 'true') throw new Error('promtool not found, and CI=true: .ci/run installs Debian\'s prometheus package, which has it');
  return null;
}

interface Rule {
  alert: string;
  expr: string;
}
const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query?: unknown }> } };

describe('deploy/prometheus/alerts.yml', () => {
  it('passes promtool check rules', (t) => {
    const bin = promtool();
    if (!bin) return t.skip('promtool not installed (apt-get install prometheus)');
    const run = spawnSync(bin, ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS: 9 rules found/);
  });

  it('passes its unit tests (promtool test rules): a stuck queue, a stale backup, a failed drill and a full disk fire; a moving queue does not', (t) => {
    const bin = promtool();
    if (!bin) return t.skip('promtool not installed (apt-get install prometheus)');
    const run = spawnSync(bin, ['test', 'rules', rulesTests], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('covers what the issue asks for', () => {
    const names = rules.map((r) => r.alert);
    for (const alert of ['LecternDown', 'LecternNotReady', 'LecternHighErrorRate', 'LecternQueueStuck', 'LecternBackupStale', 'LecternBackupDrillFailed', 'LecternDiskLow', 'LecternLlmBreakerOpen', 'LecternVoiceSlow']) {
      assert.ok(names.includes(alert), alert);
    }
  });
});

describe('the metric names in metricNamesIn', () => {
  it('are the series an expression reads, not its functions, labels, ranges or keywords', () => {
    const expr = 'histogram_quantile(0.95, sum by (job, le) (rate(a_bucket{phase="first_audio",x=~"$i"}[$__rate_interval]))) > 1.5 unless on (job) b_total offset 5m and time() - c > 26 * 3600';
    assert.deepEqual(metricNamesIn(expr).sort(), ['a_bucket', 'b_total', 'c']);
  });
});

describe('every metric in the alerts and the dashboard', () => {
  let server: TestServer;
  let exported: Set<string>;
  before(async () => {
    const engine = new ScriptedEngine({ name: 'local', script: () => ({ text: 'Every Monday [1].', usage: { promptTokens: 100, completionTokens: 6 } }) });
    server = await startTestServer({ appliance: { localLlm: engine } });
    // Exercise it a little: ingestion, the queue, search and an answer.
    const { owner } = await setUp(server.url);
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id as string;
    await owner.upload(kbId, [{ name: 'generator.txt', bytes: 'The backup generator is tested every Monday at 09:00.' }]);
    await owner.settle(kbId);
    await owner.post(`/api/v1/kbs/${kbId}/search`, { query: 'generator', mode: 'keyword' });
    await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: 'When is the generator tested?' });
    exported = exportedNames(await (await fetch(`${server.url}/metrics`)).text());
  });
  after(() => server.close());

  it('is exported by a running Lectern', () => {
    const reads = [
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ];
    assert.ok(reads.length > 30, `${reads.length} expressions`);
    const missing: string[] = [];
    let names = 0;
    for (const { where, expr } of reads) {
      const found = metricNamesIn(expr);
      assert.ok(found.length > 0, `${where} reads no metric: ${expr}`);
      names += found.length;
      for (const name of found) if (!exported.has(name) && !PROMETHEUS_OWN.has(name)) missing.push(`${where}: ${name}`);
    }
    assert.deepEqual(missing, []);
    assert.ok(names > 30);
  });

  it('has a panel for each thing an operator watches', () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const topic of ['requests', 'latency', 'errors', 'queue', 'documents', 'search', 'llm', 'voice', 'sessions', 'backup', 'free']) {
      assert.ok(titles.includes(topic), `${topic} in ${titles}`);
    }
  });
});
