import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { freePort } from './ports.ts';

export interface CaddyProxy {
  /** `https://127.0.0.1:<port>`, terminating TLS with Caddy's local CA and proxying to the upstream. */
  url: string;
  /** Caddy's generated local root certificate, for `NODE_EXTRA_CA_CERTS`. */
  rootCert: string;
  close(): Promise<void>;
}

export const hasCaddy = (): boolean => spawnSync('caddy', ['version'], { stdio: 'ignore' }).status === 0;

/** Whether a TLS handshake (trusting `ca`) with the proxy succeeds yet. */
function handshakes(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/**
 * Caddy as a TLS reverse proxy in front of `upstream` (an `http://127.0.0.1:<port>` URL), on free
 * loopback ports, with all state in a temp dir: no admin endpoint, no system trust store changes,
 * and an explicit HTTP port so the redirect listener never tries port 80.
 */
export async function startCaddy(upstream: string, timeoutMs = 15_000): Promise<CaddyProxy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-caddy-'));
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const caddyfile = path.join(dir, 'Caddyfile');
  await writeFile(
    caddyfile,
    `{
\tadmin off
\tskip_install_trust
\tauto_https disable_redirects
\thttp_port ${httpPort}
\thttps_port ${httpsPort}
\tstorage file_system {
\t\troot ${path.join(dir, 'data')}
\t}
}

127.0.0.1:${httpsPort} {
\tbind 127.0.0.1
\ttls internal
\treverse_proxy ${new URL(upstream).host}
}
`,
  );
  // XDG dirs keep Caddy's autosave and any fallback state out of the real home.
  const child = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8_000)));
  // A missing binary reports 'error' and never 'exit'.
  const exited = new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.once('error', (err) => ((stderr += err.message), resolve()))));
  let running = true;
  void exited.then(() => (running = false));
  const close = async () => {
    if (running) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const rootCert = path.join(dir, 'data', 'pki', 'authorities', 'local', 'root.crt');
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (!running) break;
    if (existsSync(rootCert)) {
      if (await handshakes(httpsPort, await readFile(rootCert, 'utf8'))) return { url: `https://127.0.0.1:${httpsPort}`, rootCert, close };
    }
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`caddy did not serve TLS on 127.0.0.1:${httpsPort}; stderr: ${stderr}`);
}
