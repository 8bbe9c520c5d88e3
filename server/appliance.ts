import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { cryptoRandom, systemClock, type Clock, type Random } from './clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { migrate } from './migrations.ts';
import { Readiness } from './ops/health.ts';
import type { Lifecycle } from './ops/lifecycle.ts';
import { createServices } from './services.ts';
import { openStore } from './store/open.ts';

export interface ApplianceOptions {
  clock?: Clock;
  random?: Random;
  webRoot?: string;
}

const SESSION_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Everything between configuration and a listening socket: store → migrations → services →
 * app, each resource registering its shutdown step. `main.ts` and the tests both start here.
 */
export async function createAppliance(config: Config, log: Logger, lifecycle: Lifecycle, options: ApplianceOptions = {}) {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;

  const store = await openStore(config, log.child({ component: 'store' }));
  lifecycle.onShutdown('store', () => store.close());

  const services = createServices({ config, log, store, clock, random });
  const ran = await migrate(store, services.db, clock, log);
  log.info({ store: store.kind, migrations: ran }, 'store ready');

  const readiness = new Readiness();
  readiness.add({
    name: 'store',
    kind: store.kind,
    check: async () => {
      await store.ping();
      return { state: 'ok' };
    },
  });

  const purge = setInterval(() => {
    services.sessions.purgeExpired().then(
      (n) => n > 0 && log.info({ purged: n }, 'expired sessions removed'),
      (err: unknown) => log.warn({ err }, 'session purge failed'),
    );
  }, SESSION_PURGE_INTERVAL_MS);
  purge.unref();
  lifecycle.onShutdown('session purge', () => clearInterval(purge));

  const { app, openapi } = createApp({ config, log, services, readiness, ...(options.webRoot ? { webRoot: options.webRoot } : {}) });
  return { app, openapi, services, store, readiness };
}

/**
 * Listens and registers the graceful stop: stop accepting, let in-flight requests finish (idle
 * keep-alive sockets are closed at once), and cut what is still open after the timeout.
 */
export async function listen(
  handler: http.RequestListener,
  options: { port: number; host: string; shutdownTimeoutMs: number; readiness: Readiness },
  lifecycle: Lifecycle,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer({ requestTimeout: 5 * 60_000, headersTimeout: 30_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  lifecycle.onShutdown('http', async () => {
    options.readiness.drain();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets turn idle as their last response ends; close each as soon as it does.
    const sweep = setInterval(() => server.closeIdleConnections(), 25);
    const timer = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(timer);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
