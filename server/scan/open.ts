import type { Config } from '../config.ts';
import type { ComponentCheck } from '../ops/health.ts';
import { ClamdScanner } from './clamd.ts';
import type { MalwareScanner } from './scanner.ts';

/** The scanner CLAMAV_URL names, or null: no scanning, as before scanning existed. */
export function openScanner(config: Pick<Config, 'CLAMAV_URL' | 'CLAMAV_TIMEOUT_SECONDS'>): MalwareScanner | null {
  return config.CLAMAV_URL ? new ClamdScanner({ url: config.CLAMAV_URL, timeoutMs: config.CLAMAV_TIMEOUT_SECONDS * 1000 }) : null;
}

/**
 * Readiness of the scanner (registered only when there is one). Unreachable is `degraded`, not
 * `down`: search, answers and voice go on, and uploads wait in the queue until it answers, so
 * taking the instance out of a load balancer would only make things worse.
 */
export function scannerCheck(scanner: MalwareScanner): ComponentCheck {
  return {
    name: 'scan',
    kind: scanner.kind,
    check: async () => {
      try {
        await scanner.ping();
        return { state: 'ok', message: scanner.address };
      } catch (err) {
        return { state: 'degraded', message: `${err instanceof Error ? err.message : String(err)}; uploads wait in the queue until it answers` };
      }
    },
  };
}
