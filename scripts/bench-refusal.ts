// "Not in your documents" (#13, item 1): how often the appliance says the documents do not cover a
// question they indeed do not cover, and how often it says so of one they answer.
//
//   npm run bench:refusal
//
// The labelled set (test/fixtures/refusal/questions.json: 42 questions answered on a known page of
// seven shared documents, 42 plausible near-domain ones they do not answer) is asked through
// `POST /kbs/:kbId/ask` of a real in-process appliance that ingested those documents. No language
// model is installed here, so every answer takes the extractive path; with a model, the same
// threshold decides before the model is asked, and the model's own judgement (an answer that cites
// nothing) comes on top of it — not measured here.
//
// Calibration: the threshold (DEFAULT_LIMITS.minCoverage) was chosen on half A only, as the
// lowest multiple of 0.05 at which A reaches the goal of 90 % correct refusals: a wrong refusal
// hides an answer the documents hold, so the threshold refuses no more than the goal needs. Half B is the hold-out: its rates show whether that choice was
// fitted to A. The coverage of each question (coverage.ts on the passages `/search` returns, as
// the agent sees them) and the rates a few other thresholds would give are printed, so the choice
// can be re-made when the measure or the set changes (`--all` lists every question).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_LIMITS } from '../server/agent/agent.ts';
import { relevant } from '../server/agent/context.ts';
import { coverage } from '../server/agent/coverage.ts';
import { NO_RATE_LIMITS } from '../server/limits/testing.ts';
import { createAnalyzer } from '../server/search/analyzer.ts';
import { setUp } from '../test/helpers/client.ts';
import { startTestServer } from '../test/helpers/server.ts';

interface Labelled {
  half: 'A' | 'B';
  question: string;
  /** Answerable questions: where the answer is (page null for unpaged formats). */
  document?: string;
  page?: number | null;
}

const SET = path.resolve(import.meta.dirname, '../test/fixtures/refusal/questions.json');
const DOCS = path.resolve(import.meta.dirname, '../../shared/docs');
const set = JSON.parse(readFileSync(SET, 'utf8')) as { documents: string[]; answerable: Labelled[]; unanswerable: Labelled[] };

const server = await startTestServer({ env: { LOG_LEVEL: 'silent', ...NO_RATE_LIMITS } });
try {
  const { owner } = await setUp(server.url);
  const kbId = (await owner.post('/api/v1/kbs', { name: 'Manuals and policies' })).json.id as string;
  const up = await owner.upload(
    kbId,
    set.documents.map((f) => ({ name: path.basename(f), bytes: readFileSync(path.join(DOCS, f)) })),
  );
  if (up.status !== 202) throw new Error(`upload failed: ${up.status} ${up.text}`);
  for (const d of await owner.settle(kbId, 10 * 60_000)) if (d['status'] !== 'ready') throw new Error(`${d['name']} ended ${d['status']}`);

  const analyzer = createAnalyzer();
  interface Result {
    labelled: Labelled;
    answerable: boolean;
    coverage: number;
    refused: boolean;
    engine: string;
    /** Answerable and answered: whether the first citation names the expected document and page. */
    citedRight: boolean | null;
    related: number;
  }
  const results: Result[] = [];
  for (const [answerable, list] of [
    [true, set.answerable],
    [false, set.unanswerable],
  ] as const) {
    for (const labelled of list) {
      const found = await owner.post(`/api/v1/kbs/${kbId}/search`, { query: labelled.question, k: DEFAULT_LIMITS.k });
      const hits = relevant(found.json.hits, DEFAULT_LIMITS.minScore, DEFAULT_LIMITS.relativeFloor);
      const ask = await owner.post(`/api/v1/kbs/${kbId}/ask`, { question: labelled.question });
      if (ask.status !== 200) throw new Error(`ask failed: ${ask.status} ${ask.text}`);
      const a = ask.json;
      const first = a.citations[0];
      results.push({
        labelled,
        answerable,
        coverage: coverage(analyzer, labelled.question, hits),
        refused: a.notCovered === true,
        engine: a.engine.name,
        citedRight: answerable && !a.notCovered ? first?.documentName === labelled.document && (labelled.page === null || first?.page === labelled.page) : null,
        related: a.related.length,
      });
    }
  }

  const pct = (n: number, of: number) => (of === 0 ? '–' : `${((100 * n) / of).toFixed(1)} %`);
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(10) : c.padStart(24))).join(''));
  console.log(`\nRefusals on ${set.documents.length} shared documents, extractive path (no language model installed here), minCoverage ${DEFAULT_LIMITS.minCoverage}\n`);
  row(['', 'correct refusals', 'wrong refusals']);
  row(['', '(of unanswerable; ≥ 90 %)', '(of answerable; ≤ 5 %)']);
  for (const half of ['A', 'B', 'all'] as const) {
    const part = results.filter((r) => half === 'all' || r.labelled.half === half);
    const un = part.filter((r) => !r.answerable);
    const an = part.filter((r) => r.answerable);
    const correct = un.filter((r) => r.refused).length;
    const wrong = an.filter((r) => r.refused).length;
    row([half === 'all' ? 'all' : `half ${half}${half === 'A' ? ' (fit)' : ' (check)'}`, `${correct}/${un.length} = ${pct(correct, un.length)}`, `${wrong}/${an.length} = ${pct(wrong, an.length)}`]);
  }
  const answered = results.filter((r) => r.citedRight !== null);
  const right = answered.filter((r) => r.citedRight).length;
  console.log(`\nAnswered answerable questions whose first citation is the labelled document and page: ${right}/${answered.length}`);
  console.log(`Refusals that offered related passages: ${results.filter((r) => r.refused && r.related > 0).length}/${results.filter((r) => r.refused).length}`);

  // The threshold half A alone gives by the rule in the header, to compare with the one in use.
  const unanswerableA = results.filter((r) => r.labelled.half === 'A' && !r.answerable);
  const steps = Array.from({ length: 21 }, (_, i) => i / 20);
  const suggested = steps.find((t) => unanswerableA.filter((r) => r.coverage < t).length >= 0.9 * unanswerableA.length);
  console.log(`Half A reaches 90 % correct refusals from threshold ${suggested?.toFixed(2) ?? 'none'} (in use: ${DEFAULT_LIMITS.minCoverage})`);
  console.log('\nOther thresholds, from the coverage alone (correct refusals / wrong refusals):');
  for (const t of [0.45, 0.5, 0.55, 0.6, 0.65, 0.7]) {
    const rates = (['A', 'B'] as const).map((half) => {
      const part = results.filter((r) => r.labelled.half === half);
      const correct = part.filter((r) => !r.answerable && r.coverage < t).length;
      const wrong = part.filter((r) => r.answerable && r.coverage < t).length;
      return `half ${half} ${correct}/${part.filter((r) => !r.answerable).length}, ${wrong}/${part.filter((r) => r.answerable).length}`;
    });
    console.log(`  ${t.toFixed(2)}: ${rates.join('; ')}`);
  }

  const mistakes = results.filter((r) => r.refused === r.answerable || r.citedRight === false);
  if (mistakes.length > 0) {
    console.log('\nMistakes (coverage, half):');
    for (const r of mistakes) {
      const what = r.refused === r.answerable ? (r.answerable ? 'refused, but answerable' : 'answered, but not covered') : 'answered, cited elsewhere';
      console.log(`  ${r.coverage.toFixed(2)} ${r.labelled.half}  ${what}: ${r.labelled.question}`);
    }
  }
  if (process.argv.includes('--all')) {
    console.log('\nEvery question (coverage, half, answerable, refused):');
    for (const r of results.toSorted((a, b) => a.coverage - b.coverage)) console.log(`  ${r.coverage.toFixed(2)} ${r.labelled.half} ${r.answerable ? 'ans' : 'una'} ${r.refused ? 'refused ' : 'answered'} ${r.labelled.question}`);
  }
} finally {
  await server.close();
}
