import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClamdScanner } from '../../server/scan/clamd.ts';
import { freePort } from './ports.ts';

// The real ClamAV daemon for tests. Its signature download cannot reach a mirror here (nor should
// a test depend on one), so each daemon gets a database of its own: the EICAR test file's MD5,
// written by sigtool into a `.hdb` in a temp DatabaseDirectory. With one signature clamd starts in
// about a tenth of a second, and it never looks at /var/lib/clamav.

/** The industry's harmless test "virus". Assembled here so this source file is not itself flagged. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
/** The name the test database gives it (clamd reports signatures from unofficial databases with `.UNOFFICIAL`). */
export const EICAR_SIGNATURE = 'Eicar-Test-Signature';

const runs = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
/** Debian puts clamd in /usr/sbin, which is not on an unprivileged user's PATH. */
const clamdBinary = (): string | null => ['clamd', '/usr/sbin/clamd'].find(runs) ?? null;
const installed = (): boolean => clamdBinary() !== null && runs('sigtool');

/**
 * `false`, or why the clamd tests cannot run. Under CI a missing daemon is an error, not a skip:
 * .ci/run installs clamav-daemon, so its absence means the setup broke.
 */
export function clamdMissing(): string | false {
  if (installed()) return false;
  const why = 'clamd/sigtool not installed (apt-get install clamav-daemon clamav)';
  if (process.env['CI'] === 'true') throw new Error(`${why}, and CI=true: the malware scanning tests must run`);
  return why;
}

export interface Clamd {
  /** `unix://…/clamd.sock`: what CLAMAV_URL is set to. */
  url: string;
  /** `tcp://127.0.0.1:<port>`, when started with `tcp: true`. */
  tcpUrl: string | null;
  /** Stops the daemon (the socket goes away); `start()` brings it back on the same address. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** clamd in the foreground with everything in a temp dir: its socket, its log, its one-signature database. */
export async function startClamd(options: { streamMaxLength?: string; tcp?: boolean; started?: boolean } = {}): Promise<Clamd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-clamd-'));
  const db = path.join(dir, 'db');
  await mkdir(db);
  const sample = path.join(dir, 'eicar.com');
  await writeFile(sample, EICAR);
  const md5 = spawnSync('sigtool', ['--md5', sample], { encoding: 'utf8' });
  if (md5.status !== 0) throw new Error(`sigtool --md5 failed: ${md5.stderr}`);
  // sigtool prints `md5:size:file name`; the last field is the signature's name.
  const [hash, size] = md5.stdout.trim().split(':');
  await writeFile(path.join(db, 'eicar.hdb'), `${hash}:${size}:${EICAR_SIGNATURE}\n`);

  const socket = path.join(dir, 'clamd.sock');
  const port = options.tcp ? await freePort() : null;
  const conf = path.join(dir, 'clamd.conf');
  await writeFile(
    conf,
    [
      `LocalSocket ${socket}`,
      ...(port ? ['TCPAddr 127.0.0.1', `TCPSocket ${port}`] : []),
      `DatabaseDirectory ${db}`,
      'Foreground yes',
      `LogFile ${path.join(dir, 'clamd.log')}`,
      `StreamMaxLength ${options.streamMaxLength ?? '10M'}`,
      'SelfCheck 0',
      '',
    ].join('\n'),
  );

  const url = `unix://${socket}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = null;
    if (running.exitCode === null && running.signalCode === null) running.kill('SIGTERM');
    await exited;
    await rm(socket, { force: true });
  };
  const start = async () => {
    if (child) return;
    let stderr = '';
    const spawned = spawn(clamdBinary() ?? 'clamd', ['--config-file', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    spawned.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    exited = new Promise<void>((resolve) => (spawned.once('exit', () => resolve()), spawned.once('error', (err) => ((stderr += err.message), resolve()))));
    child = spawned;
    const probe = new ClamdScanner({ url, timeoutMs: 1_000, pingTimeoutMs: 500 });
    const end = Date.now() + 15_000;
    for (;;) {
      if (spawned.exitCode !== null || spawned.signalCode !== null) {
        child = null;
        const log = await readFile(path.join(dir, 'clamd.log'), 'utf8').catch(() => '');
        throw new Error(`clamd exited at start: ${stderr}\n${log.slice(-2_000)}`);
      }
      try {
        await probe.ping();
        return;
      } catch {
        if (Date.now() > end) throw new Error(`clamd did not answer PING within 15 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  if (options.started !== false) await start();
  return {
    url,
    tcpUrl: port ? `tcp://127.0.0.1:${port}` : null,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
