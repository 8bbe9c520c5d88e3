import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';

// A real FerretDB (the MongoDB wire protocol over SQLite) per test file, on a free loopback port
// with its SQLite files and state in a temp dir: the MongoDB adapter is tested through the official
// driver without a MongoDB server. scripts/ferretdb.sh builds it from the Go module proxy.

const HOW = 'run scripts/ferretdb.sh (builds it from the Go module proxy into $(go env GOPATH)/bin), or set FERRETDB_BIN';

/** The ferretdb binary: FERRETDB_BIN, then PATH, then Go's bin directory; null when there is none. */
export function ferretdbBinary(): string | null {
  const candidates = [process.env['FERRETDB_BIN'], 'ferretdb', path.join(os.homedir(), 'go', 'bin', 'ferretdb')];
  for (const candidate of candidates) {
    if (candidate && runs(candidate)) return candidate;
  }
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' });
  const inGopath = gopath.status === 0 ? path.join(gopath.stdout.trim(), 'bin', 'ferretdb') : null;
  return inGopath && existsSync(inGopath) && runs(inGopath) ? inGopath : null;
}

const runs = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * `false`, or why the FerretDB tests cannot run. Under CI a missing binary is an error, not a skip:
 * .ci/run builds it, so its absence means the setup broke.
 */
export function ferretdbMissing(): string | false {
  if (ferretdbBinary()) return false;
  const why = `ferretdb not found (${HOW})`;
  if (process.env['CI'] === 'true') throw new Error(`${why}, and CI=true: the FerretDB tests must run`);
  return why;
}

export interface FerretDB {
  /** `mongodb://127.0.0.1:<port>/<database>`, a database no other test uses: what MONGODB_URL is set to. */
  url: string;
  /** Another fresh database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

let databases = 0;
/** A database name unique to this run, within MongoDB's 64-byte limit. */
export const testDatabase = (): string => `lectern_test_${process.pid}_${Date.now().toString(36)}_${++databases}`;

export async function startFerretDB(): Promise<FerretDB> {
  const bin = ferretdbBinary();
  if (!bin) throw new Error(`ferretdb not found (${HOW})`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-ferretdb-'));
  const port = await freePort();
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--state-dir=${dir}`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`ferretdb did not listen on port ${port}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const urlFor = (database: string) => `mongodb://127.0.0.1:${port}/${database}`;
  return {
    url: urlFor(testDatabase()),
    urlFor,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A URL of the real MongoDB in MONGODB_URL with its database swapped for a fresh one; null when unset. */
export function externalMongoUrl(): string | null {
  const url = process.env['MONGODB_URL'];
  if (!url) return null;
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?/, `$1/${testDatabase()}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
  });
}
