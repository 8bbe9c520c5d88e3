import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { configSchema } from '../../server/config.ts';

// The GitHub Actions workflow cannot run here (no Docker, no GitHub), so it is held to what can be
// checked: actionlint (rhysd/actionlint, built from the Go module proxy by .ci/run) validates its
// syntax, expressions and job graph against GitHub's rules, and the tests below that it runs what
// the project promises: the whole suite beside MongoDB 8, Redis 7 and Meilisearch 1.x, the image,
// and the Compose smoke test for both stacks.

const root = path.resolve(import.meta.dirname, '../..');
const workflowFile = path.join(root, '.github/workflows/ci.yml');
const workflow = parse(readFileSync(workflowFile, 'utf8')) as { jobs: Record<string, any> };

/** actionlint on PATH, in Go's bin folder, or named by ACTIONLINT; under CI its absence is an error (.ci/run builds it). */
function actionlint(): string | null {
  const candidates = [process.env['ACTIONLINT'], 'actionlint', path.join(process.env['GOPATH'] ?? path.join(os.homedir(), 'go'), 'bin', 'actionlint')];
  for (const candidate of candidates) {
    if (candidate && spawnSync(candidate, ['-version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  if (process.env['CI'] === 'true') throw new Error('actionlint not found, and CI=true: .ci/run builds it (go install github.com/rhysd/actionlint/cmd/actionlint)');
  return null;
}

describe('.github/workflows/ci.yml', () => {
  it('passes actionlint', (t) => {
    const bin = actionlint();
    if (!bin) return t.skip('actionlint not installed (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12)');
    const run = spawnSync(bin, ['-no-color', '.github/workflows/ci.yml'], { cwd: root, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('runs the whole suite with MongoDB 8, Redis 7 and Meilisearch 1.x beside it, each named in the variable the contract suites read', () => {
    const test = workflow.jobs['test'];
    const images = Object.fromEntries(Object.entries(test.services as Record<string, { image: string }>).map(([name, s]) => [name, s.image]));
    assert.match(images['mongodb'] ?? '', /^mongo:8(\.|$)/);
    assert.match(images['redis'] ?? '', /^redis:7(\.|-|$)/);
    assert.match(images['meilisearch'] ?? '', /^getmeili\/meilisearch:v1\./);
    assert.match(test.env.MONGODB_URL, /^mongodb:\/\/127\.0\.0\.1:27017\//);
    assert.match(test.env.REDIS_URL, /^redis:\/\/127\.0\.0\.1:6379/);
    assert.match(test.env.MEILI_URL, /^http:\/\/127\.0\.0\.1:7700$/);
    assert.equal(test.env.MEILI_MASTER_KEY, test.services.meilisearch.env.MEILI_MASTER_KEY);
    assert.equal(test.env.CI, 'true');
    // The same entry point as the project's CI, so the two cannot drift apart.
    assert.ok(test.steps.some((s: { run?: string }) => s.run?.trim() === 'bash .ci/run'));
    // Every variable it sets for the suite is one the configuration knows (or CI's own).
    const known = new Set([...Object.keys(configSchema.shape), 'CI']);
    assert.deepEqual(Object.keys(test.env).filter((name) => !known.has(name)), []);
  });

  it('builds the image and runs the Compose smoke test for the full and the small stack, after the suite passes', () => {
    const image = workflow.jobs['image'];
    assert.equal(image.needs, 'test');
    assert.deepEqual([...image.strategy.matrix.stack].sort(), ['full', 'small']);
    assert.ok(image.steps.some((s: { run?: string }) => s.run?.includes('scripts/compose-smoke.sh ${{ matrix.stack }}')));
    assert.ok(existsSync(path.join(root, 'scripts/compose-smoke.sh')));
    const syntax = spawnSync('bash', ['-n', 'scripts/compose-smoke.sh'], { cwd: root, encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
  });

  it('formats and validates deploy/terraform with hashicorp/setup-terraform (its provider cannot be downloaded on the project\'s machines)', () => {
    const job = workflow.jobs['terraform'];
    assert.equal(job.defaults.run['working-directory'], 'deploy/terraform');
    assert.ok(job.steps.some((s: { uses?: string }) => /^hashicorp\/setup-terraform@v\d+$/.test(s.uses ?? '')));
    const runs = job.steps.map((s: { run?: string }) => s.run ?? '');
    assert.ok(runs.includes('terraform fmt -check -recursive'));
    assert.ok(runs.includes('terraform init -backend=false && terraform validate'));
    assert.equal(JSON.stringify(job).includes('HCLOUD_TOKEN'), false, 'validating needs no token');
  });
});
