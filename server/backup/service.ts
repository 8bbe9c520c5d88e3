// Backups inside the server: run now (the console) or on BACKUP_SCHEDULE, one at a time and, when
// processes share a store, on one of them (a lease lock in the store); retention and the
// off-site copy after each; a weekly drill verifying the latest. Outcomes are recorded in the
// store, so every process, the console and the metrics see the same last success and last drill.

import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { withLeaseLock } from '../store/lease-lock.ts';
import type { Store } from '../store/store.ts';
import { createBackup, type BackupTarget } from './create.ts';
import { listBackups, type BackupInfo } from './list.ts';
import { resticBackup } from './restic.ts';
import { toPrune } from './retention.ts';
import { nextRun } from './schedule.ts';
import { backupSettings, type BackupSettings } from './settings.ts';
import { verifyBackup } from './verify.ts';

export const BACKUP_STATUS_COLLECTION = 'backup_status';
const LOCK = 'backup';
/** Sunday: the weekly drill follows that day's backup. */
const DRILL_WEEKDAY = 0;

export interface Outcome {
  _id: 'last-success' | 'last-failure' | 'last-drill';
  at: string;
  ok: boolean;
  /** The backup's folder name. */
  backup: string | null;
  bytes: number | null;
  ms: number;
  message: string | null;
}

export interface BackupJob {
  id: string;
  startedAt: string;
  stage: 'waiting' | 'copying' | 'pruning' | 'off-site' | 'done' | 'failed';
  backup: string | null;
  message: string | null;
}

export interface BackupStatus {
  /** Why backups cannot run as configured (no key, …); null when they can. */
  problem: string | null;
  dir: string | null;
  schedule: string;
  nextRun: string | null;
  offsite: boolean;
  job: BackupJob | null;
  lastSuccess: Outcome | null;
  lastFailure: Outcome | null;
  lastDrill: Outcome | null;
}

export interface BackupDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  /** The MongoDB dump when the store is MongoDB (server/backup/mongo.ts); null: the embedded store. */
  dumpStore?: BackupTarget['dumpStore'];
  loadStore?: (from: string) => Promise<Record<string, number>>;
}

export class BackupService {
  readonly #deps: BackupDeps;
  readonly #settings: BackupSettings | null;
  readonly #problem: string | null;
  #job: BackupJob | null = null;
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: BackupDeps) {
    this.#deps = deps;
    let settings: BackupSettings | null = null;
    let problem: string | null = null;
    try {
      settings = backupSettings(deps.config);
    } catch (err) {
      problem = (err as Error).message;
    }
    this.#settings = settings;
    this.#problem = problem;
  }

  get #outcomes() {
    return this.#deps.store.collection<Outcome>(BACKUP_STATUS_COLLECTION);
  }

  async status(): Promise<BackupStatus> {
    const find = (id: Outcome['_id']) => this.#outcomes.findOne({ _id: id });
    const schedule = this.#settings?.schedule ?? null;
    // A copy taken before the outcomes are read: a job seen done has recorded its outcome already,
    // where the live object, read after them, could turn done in between and show no last success.
    const job = this.#job && { ...this.#job };
    return {
      problem: this.#problem,
      dir: this.#settings?.dir ?? null,
      schedule: this.#deps.config.BACKUP_SCHEDULE,
      nextRun: schedule && !this.#problem ? nextRun(schedule, this.#deps.clock.now()).toISOString() : null,
      offsite: this.#settings?.restic != null,
      job,
      lastSuccess: await find('last-success'),
      lastFailure: await find('last-failure'),
      lastDrill: await find('last-drill'),
    };
  }

  /** The last successful backup and the last drill (null: none yet), for the metrics (server/metrics/prometheus.ts reads it at scrape time). */
  async health(): Promise<{ lastSuccessAt: Date | null; lastDrill: { ok: boolean; at: Date } | null }> {
    const status = await this.status();
    return { lastSuccessAt: status.lastSuccess ? new Date(status.lastSuccess.at) : null, lastDrill: status.lastDrill ? { ok: status.lastDrill.ok, at: new Date(status.lastDrill.at) } : null };
  }

  async list(): Promise<BackupInfo[]> {
    return this.#settings ? listBackups(this.#settings.dir) : [];
  }

  /** Starts a backup unless one is running in this process; the job is followed with `status()`. */
  start(): BackupJob {
    if (this.#job && this.#job.stage !== 'done' && this.#job.stage !== 'failed') return this.#job;
    const job: BackupJob = { id: randomUUID(), startedAt: this.#deps.clock.now().toISOString(), stage: 'waiting', backup: null, message: null };
    this.#job = job;
    this.#running = this.run(job).catch(() => undefined);
    return job;
  }

  /**
   * Takes one backup, prunes, sends it off-site; records the outcome. With `unlessSince`, skips
   * when another process sharing the store already backed up since then (a schedule fires on all).
   */
  async run(job: BackupJob = { id: randomUUID(), startedAt: this.#deps.clock.now().toISOString(), stage: 'waiting', backup: null, message: null }, unlessSince?: Date): Promise<string | null> {
    const settings = this.#settings;
    if (!settings) throw new Error(this.#problem ?? 'backups are not configured');
    const started = performance.now();
    try {
      return await withLeaseLock(this.#deps.store, LOCK, { clock: this.#deps.clock, leaseMs: 60_000 }, async () => {
        const last = await this.#outcomes.findOne({ _id: 'last-success' });
        if (unlessSince && last && new Date(last.at) >= unlessSince) {
          job.stage = 'done';
          return null;
        }
        job.stage = 'copying';
        const { path: folder, manifest } = await createBackup({ config: this.#deps.config, dir: settings.dir, key: settings.key, now: this.#deps.clock.now(), dumpStore: this.#deps.dumpStore ?? null });
        job.backup = folder;
        job.stage = 'pruning';
        const all = await listBackups(settings.dir);
        for (const old of toPrune(all, settings.keep)) await rm(old.path, { recursive: true, force: true });
        // Left by a backup that died midway; under the lock, no other backup is writing one.
        for (const name of await readdir(settings.dir)) if (name.startsWith('.partial-')) await rm(path.join(settings.dir, name), { recursive: true, force: true });
        let offsite = null;
        if (settings.restic) {
          job.stage = 'off-site';
          offsite = await resticBackup(settings.restic, folder);
        }
        const bytes = manifest.files.reduce((sum, f) => sum + f.stored.size, 0);
        const name = folder.split(/[\\/]/).at(-1) ?? folder;
        await this.#record({ _id: 'last-success', at: manifest.createdAt, ok: true, backup: name, bytes, ms: Math.round(performance.now() - started), message: offsite ? `off-site: restic snapshot ${offsite}` : null });
        this.#deps.log.info({ backup: folder, bytes, files: manifest.files.length, offsite, ms: Math.round(performance.now() - started) }, 'backup written');
        job.stage = 'done';
        return folder;
      });
    } catch (err) {
      job.stage = 'failed';
      job.message = (err as Error).message;
      this.#deps.log.error({ err }, 'backup failed');
      await this.#record({ _id: 'last-failure', at: this.#deps.clock.now().toISOString(), ok: false, backup: job.backup, bytes: null, ms: Math.round(performance.now() - started), message: job.message }).catch(() => undefined);
      throw err;
    }
  }

  /** Verifies the latest backup (a restore into a scratch folder) and records the result. */
  async drill(): Promise<Outcome | null> {
    const settings = this.#settings;
    if (!settings) return null;
    const [latest] = await listBackups(settings.dir);
    if (!latest) return null;
    const started = performance.now();
    let outcome: Outcome;
    try {
      const result = await verifyBackup(latest.path, settings.key, () => this.#deps.clock.now(), this.#deps.loadStore);
      outcome = { _id: 'last-drill', at: this.#deps.clock.now().toISOString(), ok: result.ok, backup: latest.name, bytes: latest.bytes, ms: Math.round(performance.now() - started), message: result.ok ? null : result.message };
    } catch (err) {
      outcome = { _id: 'last-drill', at: this.#deps.clock.now().toISOString(), ok: false, backup: latest.name, bytes: latest.bytes, ms: Math.round(performance.now() - started), message: (err as Error).message };
    }
    await this.#record(outcome);
    if (outcome.ok) this.#deps.log.info({ backup: latest.name, ms: outcome.ms }, 'restore drill passed');
    else this.#deps.log.error({ backup: latest.name, reason: outcome.message }, 'restore drill failed');
    return outcome;
  }

  /** Runs BACKUP_SCHEDULE until stopped; the drill after the Sunday backup. Off (null) when unscheduled or misconfigured (logged once). */
  schedule(): { stop(): Promise<void> } | null {
    const schedule = this.#settings?.schedule;
    if (!schedule) return null;
    if (this.#problem) {
      this.#deps.log.warn({ reason: this.#problem }, 'scheduled backups are not running');
      return null;
    }
    let timer: NodeJS.Timeout;
    let stopped = false;
    const tick = () => {
      const now = this.#deps.clock.now();
      const at = nextRun(schedule, now);
      timer = setTimeout(() => {
        const job = { id: randomUUID(), startedAt: this.#deps.clock.now().toISOString(), stage: 'waiting' as const, backup: null, message: null };
        this.#job = job;
        this.#running = this.run(job, at)
          // The process that took the backup drills it; one that found it taken does not.
          .then(async (folder) => (folder !== null && at.getUTCDay() === DRILL_WEEKDAY && at.getUTCHours() === (schedule.every === 'day' ? schedule.hour : 0) ? this.drill() : null))
          .catch(() => undefined)
          .finally(() => !stopped && tick());
      }, Math.min(at.getTime() - now.getTime(), 2 ** 31 - 1));
      timer.unref();
    };
    tick();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await this.#running;
      },
    };
  }

  async #record(outcome: Outcome): Promise<void> {
    await this.#outcomes.replaceOne({ _id: outcome._id }, outcome, { upsert: true });
  }
}
