import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { freePort } from './ports.ts';

/** The project's own Caddyfile, the one deployments run. */
export const CADDYFILE = path.resolve(import.meta.dirname, '../../Caddyfile');

export interface CaddyProxy {
  /** `https://<domain>:<port>`; the domain resolves nowhere, so connect to 127.0.0.1 with it as SNI and Host. */
  url: string;
  domain: string;
  httpsPort: number;
  /** Where plain HTTP is answered (with a redirect to HTTPS). */
  httpPort: number;
  /** Caddy's generated local root certificate (path), for `NODE_EXTRA_CA_CERTS`. */
  rootCert: string;
  /** The same certificate's PEM, for `ca` in node:tls/https. */
  ca: string;
  close(): Promise<void>;
}

export interface CaddyReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export const hasCaddy = (): boolean => spawnSync('caddy', ['version'], { stdio: 'ignore' }).status === 0;

/** Whether a TLS handshake (trusting `ca`, naming `servername`) with the proxy succeeds yet. */
function handshakes(port: number, ca: string, servername: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ...(servername ? { servername } : {}) }, () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const isIp = (host: string) => /^[\d.]+$|:/.test(host);

/**
 * The project's Caddyfile in LAN mode (`tls internal`) in front of `upstream` (an
 * `http://127.0.0.1:<port>` URL), on free high ports, with all state in a temp dir: no admin
 * endpoint, no system trust store changes. `env` adds or overrides the Caddyfile's settings
 * (e.g. LECTERN_MAX_BODY).
 */
export async function startProjectCaddy(upstream: string, opts: { domain?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CaddyProxy> {
  const domain = opts.domain ?? 'lectern.test';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lectern-caddy-'));
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  // XDG dirs keep Caddy's certificates, autosave and any fallback state out of the real home.
  const child = spawn('caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      XDG_CONFIG_HOME: dir,
      XDG_DATA_HOME: dir,
      LECTERN_DOMAIN: domain,
      LECTERN_TLS: 'internal',
      LECTERN_UPSTREAM: new URL(upstream).host,
      CADDY_HTTP_PORT: String(httpPort),
      CADDY_HTTPS_PORT: String(httpsPort),
      CADDY_ADMIN: 'off',
      ...opts.env,
    },
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
    // Caddy's graceful stop waits for streams whose client left until their next write (a
    // heartbeat, up to half a minute away); a test need not wait for that.
    const stubborn = setTimeout(() => running && child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(stubborn);
    await rm(dir, { recursive: true, force: true });
  };

  const rootCert = path.join(dir, 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  const servername = isIp(domain) ? undefined : domain;
  const end = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    if (!running) break;
    if (existsSync(rootCert)) {
      const ca = await readFile(rootCert, 'utf8');
      if (await handshakes(httpsPort, ca, servername)) return { url: `https://${domain}:${httpsPort}`, domain, httpsPort, httpPort, rootCert, ca, close };
    }
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`caddy did not serve TLS on 127.0.0.1:${httpsPort}; stderr: ${stderr}`);
}

/** The project's Caddyfile serving `https://127.0.0.1:<port>`, for clients that cannot be told a name's address. */
export const startCaddy = (upstream: string, timeoutMs = 15_000): Promise<CaddyProxy> => startProjectCaddy(upstream, { domain: '127.0.0.1', timeoutMs });

/**
 * One HTTPS request through `caddy` (connecting to 127.0.0.1, naming its domain), the body read
 * whole. Sends no Accept-Encoding unless asked, so bodies arrive as the app wrote them.
 */
export function viaCaddy(caddy: CaddyProxy, method: string, urlPath: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<CaddyReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: caddy.httpsPort,
        servername: caddy.domain,
        ca: caddy.ca,
        method,
        path: urlPath,
        headers: { host: `${caddy.domain}:${caddy.httpsPort}`, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
