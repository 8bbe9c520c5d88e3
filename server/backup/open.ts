// The backup service as a port of the appliance: opened through the registry, which lists it in
// /readyz (never failing readiness: a stale backup is an operator's problem, not a reason to stop
// serving) and stops its schedule at shutdown, before the store it reads closes.

import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ComponentCheck } from '../ops/health.ts';
import type { PortRegistry } from '../ports/registry.ts';
import type { Store } from '../store/store.ts';
import { BackupService } from './service.ts';
import { storeHalves } from './store-halves.ts';

/** A backup older than this shows as degraded (the alert fires at 26 h too). */
const STALE_MS = 26 * 3_600_000;

export function openBackups(context: { config: Config; log: Logger; clock: Clock; store: Store; registry: PortRegistry }): Promise<BackupService> {
  const { config, log, clock, store, registry } = context;
  return registry.open('backups', () => {
    const service = new BackupService({ config, store, clock, log: log.child({ component: 'backups' }), ...storeHalves(store) });
    const scheduled = service.schedule();
    const check: ComponentCheck['check'] = async () => {
      const status = await service.status();
      if (status.problem) return { state: 'degraded', message: status.problem };
      const last = status.lastSuccess;
      if (status.lastDrill && !status.lastDrill.ok) return { state: 'degraded', message: `the last restore drill failed: ${status.lastDrill.message ?? ''}` };
      if (status.lastFailure && (!last || status.lastFailure.at > last.at)) return { state: 'degraded', message: `the last backup failed: ${status.lastFailure.message ?? ''}` };
      if (!last) return { state: 'ok', message: status.nextRun ? `none yet; next at ${status.nextRun}` : 'none yet; not scheduled' };
      const age = clock.now().getTime() - Date.parse(last.at);
      return { state: status.nextRun && age > STALE_MS ? 'degraded' : 'ok', message: `last at ${last.at}${status.nextRun ? `, next at ${status.nextRun}` : ''}` };
    };
    const kind = config.RESTIC_REPOSITORY ? 'local+restic' : 'local';
    return { port: service, kind, check, close: () => scheduled?.stop() };
  });
}
