import type http from 'node:http';
import { ConfigError, loadConfig } from './config.ts';
import { startingListener } from './http/starting.ts';
import { createLogger } from './logger.ts';
import { DataDirBusyError, DataDirError, lockDataDir, prepareDataDir } from './ops/data-dir.ts';
import { EnvFileError, loadEnvFile } from './ops/env-file.ts';
import { Lifecycle } from './ops/lifecycle.ts';
import { createAppliance, listen } from './appliance.ts';
import { attachRealtime, type AttachedRealtime } from './realtime/server.ts';

// The composition root: config → logger → store → services → app → listen. Nothing else in the
// server reads the environment, opens resources or installs process handlers.

let config;
try {
  // Before the configuration is read: .env only fills in what the environment leaves unset.
  loadEnvFile();
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError || err instanceof EnvFileError) {
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

// Files and folders the appliance creates are its own alone (0600 / 0700): documents,
// conversations and keys must not be readable by other users of the host.
process.umask(0o077);
try {
  prepareDataDir(config.dataDir);
  // Held for the life of the process: however it ends, even by kill -9, the OS drops the lock.
  const lock = lockDataDir(config.dataDir);
  process.once('exit', () => lock.release());
} catch (err) {
  if (err instanceof DataDirError) {
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (err instanceof DataDirBusyError) {
    process.stderr.write(`lectern: ${err.message}\n`);
    process.exit(75); // EX_TEMPFAIL
  }
  throw err;
}

const log = createLogger({ level: config.LOG_LEVEL });
const lifecycle = new Lifecycle(log);

process.on('unhandledRejection', (reason) => {
  // A bug, but one request's bug: log it loudly and keep serving everyone else.
  log.error({ err: reason }, 'unhandled promise rejection');
});
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception; exiting');
  void lifecycle.shutdown('uncaught exception').finally(() => process.exit(1));
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void lifecycle.shutdown(signal).then(() => process.exit(0));
  });
}

try {
  // Listen first: /healthz answers while the appliance opens its models, store and search index.
  let handler: http.RequestListener = startingListener();
  let appliance: Awaited<ReturnType<typeof createAppliance>> | undefined;
  // Realtime sessions are long-lived streams: they close with the SSE streams when the listener stops.
  let realtime: AttachedRealtime | undefined;
  const { server, port } = await listen(
    (req, res) => handler(req, res),
    {
      port: config.PORT,
      host: config.HOST,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      readiness: { drain: () => appliance?.readiness.drain() },
      onClose: async () => {
        appliance?.streams.closeAll();
        await realtime?.close();
      },
    },
    lifecycle,
  );
  const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/`;
  log.info({ url }, 'lectern starting');
  appliance = await createAppliance(config, log, lifecycle);
  handler = appliance.app.callback();
  realtime = attachRealtime(server, appliance.realtime);
  log.info({ url, dataDir: config.dataDir }, 'lectern listening');
} catch (err) {
  log.fatal({ err }, 'startup failed');
  await lifecycle.shutdown('startup failed');
  process.exit(1);
}
