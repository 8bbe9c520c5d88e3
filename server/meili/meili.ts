// The search port on Meilisearch: one index per organisation (see names.ts), vectors supplied by
// Lectern through a `userProvided` embedder, every write awaited as a task. A rebuild (`clear`
// then upserts then `setGeneration`) fills fresh indexes while every other process keeps
// searching the current ones, then swaps them in at once and deletes what they replaced.

import { Meilisearch, type Settings } from 'meilisearch';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import { createAnalyzer } from '../search/analyzer.ts';
import type { ChunkRecord, DeleteFilter, SearchIndex, SearchRequest, SearchResponse } from '../search/search.ts';
import { assertPrefix, buildStartedAt, metaIndex, newBuildId, organisationIndex, parseIndex } from './names.ts';
import { analyzedWords, highlightedWords, toDocument, toHit, type MeiliChunk } from './records.ts';
import { filterExpression, planSearch } from './requests.ts';
import { embedderDimensions, embedderSettings, indexSettings, PRIMARY_KEY, settingsCurrent } from './settings.ts';
import { errorCode, settle, unreachable } from './tasks.ts';

export interface MeiliSearchOptions {
  url: string;
  apiKey?: string | undefined;
  /** Index names start with it (see names.ts); several installations can share one Meilisearch. */
  prefix: string;
  /** Longest wait for one task (a batch of documents, a settings change, a swap). */
  taskTimeoutMs: number;
  /** Embedder dimension for new indexes; unset: each index learns it from its first vector. */
  dimensions?: number | undefined;
}

export interface MeiliSearchDeps {
  log?: Logger | undefined;
  now?: () => number;
}

const GENERATION = 'generation';
/** A rebuild no process finished within this long was abandoned (the process died); the next rebuild deletes it. */
const ABANDONED_BUILD_MS = 24 * 3600_000;
const RETRY_MS = 2_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** How long what this process knows of an index is trusted: another process's rebuild may swap it for one with another embedder. */
const STATE_TTL_MS = 60_000;

interface IndexState {
  dimensions: number | null;
  checkedAt: number;
}

export function createMeiliSearch(options: MeiliSearchOptions, deps: MeiliSearchDeps = {}): SearchIndex {
  assertPrefix(options.prefix);
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const timeout = options.taskTimeoutMs;
  const client = new Meilisearch({ host: options.url, apiKey: options.apiKey, timeout: REQUEST_TIMEOUT_MS });
  const analyzer = createAnalyzer();
  const meta = metaIndex(options.prefix);
  /** Indexes known to exist, with their embedder; dropped whenever a swap may have changed them. */
  const known = new Map<string, IndexState>();
  const loading = new Map<string, Promise<IndexState | null>>();
  /** The rebuild in progress in this process: its id and the indexes it created. */
  let build: { id: string; uids: Set<string> } | null = null;
  let progress = { ready: false, message: `connecting to Meilisearch at ${options.url}` };
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  // Startup: Meilisearch answers, AI search is on, and every existing index carries the current
  // settings (they change with Lectern versions); searches wait for this, and it is retried.
  let starting: Promise<void> | null = null;
  const ready = (): Promise<void> => {
    if (progress.ready) return Promise.resolve();
    if (closed) return Promise.reject(new Error('the Meilisearch search index is closed'));
    starting ??= start().then(
      () => {
        progress = { ready: true, message: 'ready' };
      },
      (err: unknown) => {
        starting = null;
        progress = { ready: false, message: `Meilisearch at ${options.url} is not usable yet: ${(err as Error).message}` };
        log?.warn({ err }, 'Meilisearch is not usable yet; retrying');
        clearTimeout(retry);
        if (!closed) retry = setTimeout(() => void ready().catch(() => undefined), RETRY_MS).unref();
        throw unreachable(err);
      },
    );
    return starting;
  };

  async function start(): Promise<void> {
    await client.health();
    const { pkgVersion } = await client.getVersion();
    const [major, minor] = pkgVersion.split('.').map(Number);
    // AI search (embedders, `_vectors`, hybrid) is stable from 1.13; before, it is an experimental switch.
    if (major === 1 && (minor ?? 0) < 13) await client.updateExperimentalFeatures({ vectorStore: true } as never);
    await createIndex(meta, 'key');
    const ours = (await listIndexes()).filter((uid) => parseIndex(options.prefix, uid)?.build === null);
    for (const [i, uid] of ours.entries()) {
      progress = { ready: false, message: `applying index settings: ${i} of ${ours.length} organisations` };
      if (!settingsCurrent(await client.index(uid).getSettings())) await settle(client.index(uid).updateSettings(indexSettings()), timeout);
    }
  }

  async function listIndexes(): Promise<string[]> {
    const uids: string[] = [];
    for (let offset = 0; ; offset += 200) {
      const page = await client.getRawIndexes({ offset, limit: 200 });
      uids.push(...page.results.map((i) => i.uid));
      if (page.results.length < 200) return uids;
    }
  }

  /** Creates an index unless it exists (another process may have just created it). */
  async function createIndex(uid: string, primaryKey: string): Promise<boolean> {
    try {
      await settle(client.createIndex(uid, { primaryKey }), timeout);
      return true;
    } catch (err) {
      if (errorCode(err) === 'index_already_exists') return false;
      throw err;
    }
  }

  async function deleteIndex(uid: string): Promise<void> {
    try {
      await settle(client.deleteIndex(uid), timeout);
    } catch (err) {
      if (errorCode(err) !== 'index_not_found') throw err;
    }
  }

  /** The index searches and writes of this process use for an organisation (its rebuild's while one runs). */
  const uidOf = (organisationId: string): string => organisationIndex(options.prefix, organisationId, build?.id ?? null);

  /** The index's state; null when it does not exist and `create` is false. */
  async function stateOf(uid: string, create: boolean): Promise<IndexState | null> {
    const cached = known.get(uid);
    if (cached && now() - cached.checkedAt < STATE_TTL_MS) return cached;
    // Concurrent first writes to an organisation create its index once.
    let pending = loading.get(uid);
    if (!pending) {
      pending = load(uid, create).finally(() => loading.delete(uid));
      loading.set(uid, pending);
    }
    const state = (await pending) ?? (create ? await load(uid, true) : null);
    if (state) known.set(uid, state);
    return state;
  }

  async function load(uid: string, create: boolean): Promise<IndexState | null> {
    const read = async (): Promise<IndexState> => ({ dimensions: embedderDimensions(await client.index(uid).getSettings()), checkedAt: now() });
    try {
      return await read();
    } catch (err) {
      if (errorCode(err) !== 'index_not_found') throw err;
      if (!create) return null;
    }
    // Another process may create it at the same moment; the settings are the same either way.
    await createIndex(uid, PRIMARY_KEY);
    const settings: Settings = { ...indexSettings(), ...(options.dimensions ? embedderSettings(options.dimensions) : {}) };
    await settle(client.index(uid).updateSettings(settings), timeout);
    if (build && parseIndex(options.prefix, uid)?.build === build.id) build.uids.add(uid);
    return await read();
  }

  function requireOrganisation(filter: { organisationId: string } | undefined): string {
    if (!filter || typeof filter.organisationId !== 'string' || filter.organisationId === '') throw new TypeError('a search filter must name the organisation');
    return filter.organisationId;
  }

  /** Runs a port operation once startup is done; connection failures answer `unavailable`. */
  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    if (closed) throw new Error('the Meilisearch search index is closed');
    await ready();
    try {
      return await work();
    } catch (err) {
      throw unreachable(err);
    }
  }

  async function upsertInto(uid: string, chunks: readonly ChunkRecord[]): Promise<void> {
    const state = (await stateOf(uid, true))!;
    const dimensions = new Set(chunks.flatMap((c) => (c.vector && c.vector.length > 0 ? [c.vector.length] : [])));
    if (dimensions.size > 1) throw new TypeError(`chunks with vectors of ${[...dimensions].join(' and ')} dimensions in one batch`);
    const [wanted] = dimensions;
    if (wanted !== undefined && state.dimensions === null) {
      await settle(client.index(uid).updateSettings(embedderSettings(wanted)), timeout);
      state.dimensions = wanted;
    }
    if (wanted !== undefined && wanted !== state.dimensions) {
      throw new TypeError(`vectors of ${wanted} dimensions for an index whose embedder has ${state.dimensions}; rebuild the index after changing the embedding model`);
    }
    const docs = chunks.map(toDocument);
    await settle(client.index<MeiliChunk>(uid).addDocuments(docs, { primaryKey: PRIMARY_KEY }), timeout);
  }

  /** Swaps a finished rebuild's indexes in, atomically, and deletes what they replaced. */
  async function promote(finished: { id: string; uids: Set<string> }, generation: number): Promise<void> {
    const live = (await listIndexes()).filter((uid) => parseIndex(options.prefix, uid)?.build === null);
    const pairs: Array<[string, string]> = [];
    for (const built of finished.uids) {
      const { organisationId } = parseIndex(options.prefix, built)!;
      const target = organisationIndex(options.prefix, organisationId);
      // Both sides of a swap must exist; an organisation new since the last build gets an empty one to trade.
      if (!live.includes(target)) await createIndex(target, PRIMARY_KEY);
      pairs.push([target, built]);
    }
    // `rename` is left out: Meilisearch before 1.18 refuses fields it does not know, and false is its default.
    if (pairs.length > 0) await settle(client.swapIndexes(pairs.map((indexes) => ({ indexes })) as never), timeout);
    known.clear();
    build = null;
    await recordGeneration(generation);
    // After the swap the rebuild's names hold the old contents; organisations without chunks in the store have none.
    const rebuilt = new Set(pairs.map(([target]) => target));
    for (const uid of [...pairs.map(([, old]) => old), ...live.filter((uid) => !rebuilt.has(uid))]) await deleteIndex(uid);
    log?.info({ organisations: pairs.length }, 'search indexes rebuilt and swapped in');
  }

  async function discard(abandoned: { uids: Set<string> }): Promise<void> {
    for (const uid of abandoned.uids) {
      known.delete(uid);
      await deleteIndex(uid);
    }
  }

  /** Rebuilds some process started and never finished (it died) are garbage after a day. */
  async function deleteAbandonedBuilds(): Promise<void> {
    for (const uid of await listIndexes()) {
      const started = buildStartedAt(parseIndex(options.prefix, uid)?.build ?? '');
      if (started !== null && now() - started > ABANDONED_BUILD_MS) {
        log?.warn({ index: uid }, 'deleting an abandoned search index rebuild');
        await deleteIndex(uid);
      }
    }
  }

  async function recordGeneration(generation: number): Promise<void> {
    await settle(client.index(meta).addDocuments([{ key: GENERATION, value: generation }], { primaryKey: 'key' }), timeout);
  }

  void ready().catch(() => undefined);

  return {
    kind: 'meilisearch',

    upsert(chunks) {
      return guarded(async () => {
        const byIndex = new Map<string, ChunkRecord[]>();
        for (const chunk of chunks) {
          const uid = uidOf(requireOrganisation(chunk));
          const group = byIndex.get(uid);
          if (group) group.push(chunk);
          else byIndex.set(uid, [chunk]);
        }
        for (const [uid, group] of byIndex) await upsertInto(uid, group);
      });
    },

    delete(filter: DeleteFilter) {
      return guarded(async () => {
        const uid = uidOf(requireOrganisation(filter));
        if ((await stateOf(uid, false)) === null) return 0;
        const expression = filterExpression(filter);
        const index = client.index(uid);
        try {
          const task = await settle(expression === undefined ? index.deleteAllDocuments() : index.deleteDocuments({ filter: expression }), timeout);
          return task.details?.deletedDocuments ?? 0;
        } catch (err) {
          if (errorCode(err) === 'index_not_found') return 0;
          throw err;
        }
      });
    },

    count(filter: DeleteFilter) {
      return guarded(async () => {
        const uid = uidOf(requireOrganisation(filter));
        if ((await stateOf(uid, false)) === null) return 0;
        const expression = filterExpression(filter);
        try {
          // The documents route counts exactly; a search's totals stop at `maxTotalHits`.
          const page = await client.index(uid).getDocuments({ limit: 1, fields: ['pk'], ...(expression === undefined ? {} : { filter: expression }) });
          return page.total;
        } catch (err) {
          if (errorCode(err) === 'index_not_found') return 0;
          throw err;
        }
      });
    },

    search(request: SearchRequest): Promise<SearchResponse> {
      const started = performance.now();
      return guarded(async () => {
        const uid = uidOf(requireOrganisation(request.filter));
        let state = await stateOf(uid, false);
        // Another process may have given the index its embedder since this one looked.
        if (state?.dimensions === null && request.mode !== 'keyword' && request.vector?.length) {
          known.delete(uid);
          state = await stateOf(uid, false);
        }
        const plan = planSearch(request, state?.dimensions ?? null);
        if (plan.vectorMismatch) log?.warn(plan.vectorMismatch, 'query vector dimension differs from the index; searching keywords only');
        if (state === null || plan.params === null) return { hits: [], mode: plan.mode, tookMs: performance.now() - started };
        const { q, ...params } = plan.params;
        let response;
        try {
          response = await client.index(uid).search(q ?? null, params);
        } catch (err) {
          if (errorCode(err) === 'index_not_found') return { hits: [], mode: plan.mode, tookMs: performance.now() - started };
          throw err;
        }
        // Hybrid results come in Meilisearch's merge order (each side's score weighted by the
        // ratio) while `_rankingScore` is the unweighted score, so with a ratio other than 0.5
        // scores need not fall monotonically; the order is kept, being the engine's answer.
        const hits = response.hits.map((doc) => {
          const text = String(doc['text'] ?? '');
          const formatted = (doc['_formatted'] as { text?: string } | undefined)?.text;
          const words = plan.highlighted && formatted !== undefined ? highlightedWords(text, formatted) : null;
          return toHit(doc, words ?? analyzedWords(analyzer, text, request.query));
        });
        return { hits, mode: plan.mode, tookMs: performance.now() - started };
      });
    },

    generation() {
      return guarded(async () => {
        if (build) return null;
        try {
          const doc = await client.index(meta).getDocument(GENERATION);
          return typeof doc['value'] === 'number' ? doc['value'] : null;
        } catch (err) {
          if (errorCode(err) === 'document_not_found' || errorCode(err) === 'index_not_found') return null;
          throw err;
        }
      });
    },

    setGeneration(generation: number) {
      return guarded(async () => {
        if (!Number.isInteger(generation)) throw new TypeError('generation must be an integer');
        if (build) await promote(build, generation);
        else await recordGeneration(generation);
      });
    },

    clear() {
      return guarded(async () => {
        if (build) await discard(build);
        await deleteAbandonedBuilds();
        build = { id: newBuildId(now()), uids: new Set() };
        log?.info({ build: build.id }, 'rebuilding the search indexes beside the current ones');
      });
    },

    progress() {
      return progress;
    },

    async ping() {
      try {
        await client.health();
      } catch (err) {
        throw unreachable(err);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      const unfinished = build;
      build = null;
      if (unfinished) await discard(unfinished).catch((err: unknown) => log?.warn({ err }, 'could not delete an unfinished search index rebuild'));
    },
  };
}
