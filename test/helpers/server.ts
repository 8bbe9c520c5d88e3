import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createAppliance, listen, type ApplianceOptions } from '../../server/appliance.ts';
import { loadConfig } from '../../server/config.ts';
import { attachRealtime, type AttachedRealtime, type RealtimeLimits } from '../../server/realtime/server.ts';
import { Lifecycle } from '../../server/ops/lifecycle.ts';
import type { Store } from '../../server/store/store.ts';
import { capturingLogger } from './logs.ts';

export interface TestServer {
  url: string;
  dataDir: string;
  /** Every JSON log line the server wrote, for assertions about logging. */
  logs: Array<Record<string, unknown>>;
  /** The appliance's own store, for white-box assertions (what was persisted, what was cached). */
  store: Store;
  close(): Promise<void>;
}

/** The real appliance, in-process, on a free loopback port with a fresh DATA_DIR. */
export async function startTestServer(opts: { env?: Record<string, string>; dataDir?: string; appliance?: ApplianceOptions; realtime?: Partial<RealtimeLimits> } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'lectern-test-')));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, MODELS_DIR: path.join(dataDir, 'models'), LOG_LEVEL: 'info', ...opts.env });
  const { log, lines: logs } = capturingLogger(config.LOG_LEVEL);
  const lifecycle = new Lifecycle(log);
  const appliance = await createAppliance(config, log, lifecycle, opts.appliance);
  // Tests start from an index that agrees with the store (a real server answers meanwhile: see main.ts).
  await appliance.ready;
  // Realtime sessions are long-lived streams: they close with the SSE streams when the listener stops.
  let realtime: AttachedRealtime | undefined;
  const { server, port } = await listen(
    appliance.app.callback(),
    { port: 0, host: '127.0.0.1', shutdownTimeoutMs: 2_000, readiness: appliance.readiness, onClose: () => (appliance.streams.closeAll(), void realtime?.close()) },
    lifecycle,
  );
  realtime = attachRealtime(server, { ...appliance.realtime, limits: { ...appliance.realtime.limits, ...opts.realtime } });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logs,
    store: appliance.store,
    async close() {
      await lifecycle.shutdown('test finished');
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
