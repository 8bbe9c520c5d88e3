import type { Backups } from '../api.ts';
import { OutcomeLine } from './backups.tsx';

/** The alert rule's threshold (deploy/prometheus/alerts.yml): a daily backup a little late is not yet stale. */
const STALE_MS = 26 * 3_600_000;

/** Why the backups need the operator's eye, or null when they do not. */
export function backupProblem(report: Backups, now = Date.now()): string | null {
  if (report.problem) return `Backups are not running: ${report.problem}`;
  const { lastSuccess, lastFailure, lastDrill } = report;
  if (lastFailure && (!lastSuccess || lastFailure.at > lastSuccess.at)) return `The last backup failed: ${lastFailure.message ?? 'see the log'}`;
  if (report.schedule !== 'off' && (!lastSuccess || now - Date.parse(lastSuccess.at) > STALE_MS)) {
    return lastSuccess ? 'The last successful backup is more than 26 hours old.' : 'No backup has succeeded yet.';
  }
  if (lastDrill && !lastDrill.ok) return `The last restore drill failed: ${lastDrill.message ?? 'see the log'}`;
  return null;
}

/** The System page's summary of backups; the Backups page has the list and the button. */
export function BackupsSummary({ report }: { report: Backups }) {
  const problem = backupProblem(report);
  return (
    <>
      {problem ? (
        <p class="banner banner-warning" role="alert">
          {problem}
        </p>
      ) : (
        <p role="status">Backups are up to date.</p>
      )}
      <dl class="facts">
        <OutcomeLine label="Last backup" outcome={report.lastSuccess} empty="None yet." />
        <OutcomeLine label="Last restore drill" outcome={report.lastDrill} empty="None yet: the drill runs weekly." />
      </dl>
      <p>
        <a href="/backups">All backups, and back up now</a>
      </p>
    </>
  );
}
