import { useEffect, useState } from 'preact/hooks';
import { api, type Backups } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ErrorBanner } from '../components/error-banner.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { Badge, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useResource } from '../hooks/use-resource.ts';
import { useToast } from '../hooks/use-toast.ts';

type Backup = Backups['backups'][number];
type Outcome = NonNullable<Backups['lastSuccess']>;

const megabytes = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 });
const size = (bytes: number) => megabytes.format(bytes / 1e6);
/** While a backup runs, the page follows its job this often. */
const JOB_POLL_MS = 1_000;
const STAGES: Record<string, string> = { waiting: 'Waiting for another backup to finish…', copying: 'Copying the store and files…', pruning: 'Removing old backups…', 'off-site': 'Sending it off-site (restic)…' };

export function OutcomeLine({ label, outcome, empty }: { label: string; outcome: Outcome | null; empty: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {outcome ? (
          <>
            <Badge tone={outcome.ok ? 'good' : 'bad'}>{outcome.ok ? 'OK' : 'Failed'}</Badge> <Time value={outcome.at} />
            {outcome.backup ? ` — ${outcome.backup}` : ''}
            {outcome.message ? ` — ${outcome.message}` : ''}
          </>
        ) : (
          empty
        )}
      </dd>
    </div>
  );
}

export function BackupsPage() {
  const toast = useToast();
  const report = useResource(() => api.backups(), []);
  const [starting, setStarting] = useState(false);
  const job = report.data?.job ?? null;
  const running = job !== null && job.stage !== 'done' && job.stage !== 'failed';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(report.reload, JOB_POLL_MS);
    return () => clearInterval(timer);
    // oxlint-disable-next-line react/exhaustive-deps -- reload is stable for the page's life
  }, [running]);

  const start = async () => {
    setStarting(true);
    try {
      await api.startBackup();
      toast.success('Backup started. This page follows it.');
      report.reload();
    } catch (err) {
      toast.error(err);
    } finally {
      setStarting(false);
    }
  };

  const columns: Column<Backup>[] = [
    { header: 'Taken', cell: (b) => <Time value={b.at} seconds /> },
    { header: 'Size', cell: (b) => size(b.bytes) },
    {
      header: 'Verified',
      cell: (b) =>
        b.verified === null ? (
          <Badge>Not verified</Badge>
        ) : b.verified.ok ? (
          <Badge tone="good">Verified</Badge>
        ) : (
          <span>
            <Badge tone="bad">Damaged</Badge> {b.verified.message ?? ''}
          </span>
        ),
    },
    { header: 'Folder', cell: (b) => <code>{b.name}</code> },
  ];
  const data = report.data;
  return (
    <Page
      title="Backups"
      intro="Encrypted backups of the whole instance: the store, the original files and the settings. Restoring is done on the server with npm run admin -- restore <folder>."
      actions={
        <Button variant="primary" onClick={() => void start()} pending={starting || running} disabled={Boolean(data?.problem)}>
          Back up now
        </Button>
      }
    >
      {data?.problem && (
        <p class="banner banner-warning" role="alert">
          Backups are not running: {data.problem}
        </p>
      )}
      {running && job && (
        <p role="status" aria-live="polite">
          {STAGES[job.stage] ?? job.stage}
        </p>
      )}
      {job?.stage === 'failed' && (
        <p class="banner banner-error" role="alert">
          The last backup failed: {job.message}
        </p>
      )}
      {data && (
        <dl class="facts">
          <OutcomeLine label="Last backup" outcome={data.lastSuccess} empty="None yet." />
          {data.lastFailure && (!data.lastSuccess || data.lastFailure.at > data.lastSuccess.at) && <OutcomeLine label="Last failure" outcome={data.lastFailure} empty="" />}
          <OutcomeLine label="Last restore drill" outcome={data.lastDrill} empty="None yet: the drill runs weekly, after the Sunday backup." />
          <div>
            <dt>Schedule</dt>
            <dd>
              {data.schedule === 'off' ? 'Off (BACKUP_SCHEDULE=off)' : data.schedule}
              {data.nextRun && (
                <>
                  {' '}
                  — next at <Time value={data.nextRun} />
                </>
              )}
              {data.offsite ? '; each backup is also sent to the restic repository' : ''}
            </dd>
          </div>
        </dl>
      )}
      {report.error && <ErrorBanner error={report.error} onRetry={report.reload} />}
      <DataTable caption="Backups, newest first" columns={columns} rows={data?.backups ?? []} rowKey={(b) => b.name} empty={report.loading ? 'Loading…' : 'No backups yet.'} />
    </Page>
  );
}
