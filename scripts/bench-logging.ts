// Logging-cost benchmark (issue #12, item 8): requests per second of a bare Koa route, of
// Lectern's /healthz and of /api/v1/me (signed in by cookie), side by side in one run. Lectern is
// the real server (`server/main.ts` as `npm start` runs it) with its real logger writing to a file,
// as in production; the bare route is Koa alone in a process of its own. Each target is loaded by
// autocannon over keep-alive connections, the three taking turns for a few rounds so that a busy
// moment on a shared machine falls on all of them; the median round counts. On a shared machine
// requests per second swing with the neighbours' load, so the bench also reads each server's own
// CPU time (/proc) and prints requests per CPU-second: the same ratio, without the noise, as long as
// the servers are CPU-bound (they are: one core each, nothing to wait for).
//   npm run bench:logging [-- --seconds=3 --rounds=5 --connections=10]
// LOG_LEVEL (default info) is passed to the server, to compare with e.g. `LOG_LEVEL=warn`.
// Goal: /healthz ≥ 0.8× and /api/v1/me ≥ 0.5× the bare route.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const SERVER_MAIN = join(root, 'server/main.ts');
const GOALS = { healthz: 0.8, me: 0.5 };

/** The part of autocannon's API used here (it ships no types). */
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number; headers?: Record<string, string> }) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The baseline: one Koa route answering what /healthz answers, nothing else. */
async function serveBareKoa(): Promise<void> {
  const { default: Koa } = await import('koa');
  const http = await import('node:http');
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { status: 'ok' };
  });
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const logLevel = process.env['LOG_LEVEL'] ?? 'info';
  const dir = await mkdtemp(join(tmpdir(), 'lectern-bench-logging-'));
  const children: ChildProcess[] = [];
  try {
    const bare = await startBareKoa(children);
    const lectern = await startLectern(dir, logLevel, children);
    const cookie = await signIn(lectern.base);
    const targets = [
      { name: 'bare Koa route', url: `${bare.base}/`, pid: bare.pid },
      { name: 'Lectern /healthz', url: `${lectern.base}/healthz`, pid: lectern.pid },
      { name: 'Lectern /api/v1/me', url: `${lectern.base}/api/v1/me`, headers: { cookie }, pid: lectern.pid },
    ];
    console.log(`logging bench: ${rounds} rounds × ${seconds} s per target, ${connections} keep-alive connections, LOG_LEVEL=${logLevel}, server log to a file`);
    // A short warm-up each, so JIT and caches are not measured in the first round.
    for (const t of targets) await autocannon({ url: t.url, connections, duration: 1, ...(t.headers ? { headers: t.headers } : {}) });
    const runs = new Map<string, Array<LoadResult & { perCpuSecond: number }>>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      // Every other round backwards, so no target always follows the same one.
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const cpuBefore = cpuSeconds(t.pid);
        const result = await autocannon({ url: t.url, connections, duration: seconds, ...(t.headers ? { headers: t.headers } : {}) });
        const cpu = cpuSeconds(t.pid) - cpuBefore;
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${t.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        runs.get(t.name)!.push({ ...result, perCpuSecond: result.requests.total / cpu });
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const baseRps = median(runs.get('bare Koa route')!.map((r) => r.requests.average));
    const baseCpu = median(runs.get('bare Koa route')!.map((r) => r.perCpuSecond));
    const rows = targets.map((t) => {
      const all = runs.get(t.name)!;
      const rps = median(all.map((r) => r.requests.average));
      const perCpu = median(all.map((r) => r.perCpuSecond));
      return { target: t.name, rps, ratio: rps / baseRps, perCpu, cpuRatio: perCpu / baseCpu, p50: median(all.map((r) => r.latency.p50)), p99: median(all.map((r) => r.latency.p99)), all: all.map((r) => Math.round(r.requests.average)) };
    });
    const n = (v: number) => Math.round(v).toLocaleString('en');
    console.log('');
    console.log(`${'target'.padEnd(20)} ${'req/s'.padStart(7)} ${'× bare'.padStart(6)} ${'req/CPU-s'.padStart(9)} ${'× bare'.padStart(6)} ${'p50 ms'.padStart(6)} ${'p99 ms'.padStart(6)}  rounds (req/s)`);
    for (const r of rows) {
      console.log(`${r.target.padEnd(20)} ${n(r.rps).padStart(7)} ${r.ratio.toFixed(2).padStart(6)} ${n(r.perCpu).padStart(9)} ${r.cpuRatio.toFixed(2).padStart(6)} ${String(r.p50).padStart(6)} ${String(r.p99).padStart(6)}  ${r.all.join(', ')}`);
    }
    const [, healthz, me] = rows as [unknown, (typeof rows)[number], (typeof rows)[number]];
    const verdict = (ratio: number, goal: number) => `${ratio.toFixed(2)} (goal ≥ ${goal}: ${ratio >= goal ? 'met' : 'NOT met'})`;
    console.log('');
    console.log(`ratio /healthz ÷ bare:    req/s ${verdict(healthz.ratio, GOALS.healthz)}   per CPU-second ${verdict(healthz.cpuRatio, GOALS.healthz)}`);
    console.log(`ratio /api/v1/me ÷ bare:  req/s ${verdict(me.ratio, GOALS.me)}   per CPU-second ${verdict(me.cpuRatio, GOALS.me)}`);
    const logged = readFileSync(join(dir, 'server.log'), 'utf8').split('\n').filter((l) => l.includes('"msg":"request"')).length;
    console.log(`request lines the server logged at ${logLevel}: ${logged.toLocaleString('en')}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await rm(dir, { recursive: true, force: true });
  }
}

const CLK_TCK = 100; // Linux's USER_HZ, fixed at 100 on every architecture it runs on

/** CPU time (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface Started {
  base: string;
  pid: number;
}

async function startBareKoa(children: ChildProcess[]): Promise<Started> {
  const child = spawn(process.execPath, [import.meta.filename, '--bare-koa'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolvePort((JSON.parse(d.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bare Koa exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${port}`, pid: child.pid! };
}

/** The real server, its log appended to a file as a service manager would; resolves once it listens. */
async function startLectern(dir: string, logLevel: string, children: ChildProcess[]): Promise<Started> {
  const logFile = join(dir, 'server.log');
  const fd = openSync(logFile, 'a');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [SERVER_MAIN], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? dir, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), MODELS_DIR: join(dir, 'models'), LOG_LEVEL: logLevel, OCR_ENABLED: 'false', STT_MODEL: 'off', TTS_MODEL: 'off' },
    stdio: ['ignore', fd, 'inherit'],
  });
  closeSync(fd);
  children.push(child);
  // /healthz answers from the moment it listens; the API once the appliance has opened.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const status = await fetch(`${base}/api/v1/setup`).then((r) => r.status, () => 0);
    if (status === 200) return { base, pid: child.pid! };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not answer within 60 s');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
    probe.once('error', reject);
  });
}

/** First-run setup (open on loopback): the owner's session cookie. */
async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ organisation: 'Bench', name: 'Bench Owner', email: 'bench@example.org', password: 'a long enough bench password' }),
  });
  if (res.status !== 201) throw new Error(`setup answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const me = await fetch(`${base}/api/v1/me`, { headers: { cookie } });
  if (me.status !== 200) throw new Error(`/api/v1/me answered ${me.status}`);
  return cookie;
}

// Last, so every constant above is initialised before either runs.
if (process.argv.includes('--bare-koa')) await serveBareKoa();
else await main();
