// reindex: rebuilds the search index from the store, where the chunks it is derived from are the
// truth. The embedded index is one process's: with no server on DATA_DIR it is rebuilt here and
// now; with one, the request is left in the store and the server rebuilds at its next start (two
// processes writing one index would race). Meilisearch is shared and its rebuild fills fresh
// indexes and swaps them in at once, so it is rebuilt now, while servers go on searching.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { collections } from '../db.ts';
import { createLogger } from '../logger.ts';
import { openSearchIndex } from '../search/open.ts';
import { requestSearchRebuild, SearchSync } from '../search/sync.ts';
import { sqliteFileOf } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { EXIT, UsageError, type AdminCommand, type AdminOutput } from './command.ts';
import { openConfiguredStore } from './open-store.ts';
import { separateIndexFileIn, serverHolds } from './status.ts';

export const reindex: AdminCommand = {
  name: 'reindex',
  summary: 'Rebuild the search index from the store (now, or at the next start while a server holds an embedded index).',
  help: `Usage: npm run admin -- reindex

Rebuilds the search index from the chunks in the store, e.g. after restoring a store without its
index, or when search answers differently from what the documents hold.

  Embedded index, no server running   rebuilt now; says how many chunks it indexed
  Embedded index, a server running    a rebuild is requested in the store and the server does it
                                      at its next start (restart it); searches meanwhile answer
                                      from the index as it is
  Meilisearch (MEILI_URL)             rebuilt now, while servers run: the rebuild fills fresh
                                      indexes and swaps them in at once

DATA_DIR, MONGODB_URL, MEILI_URL and DATA_KEY_FILE as for the server. Exits 1 with the reason when
the store or the index cannot be opened.`,

  async run(args, { config, out }) {
    const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`reindex takes no arguments (got ${positionals.join(' ')})`);
    // Asked before this command opens the store: its own connection would count as a holder.
    const held = serverHolds(config.dataDir);
    if (config.MONGODB_URL && !config.MEILI_URL && !existsSync(separateIndexFileIn(config.dataDir))) {
      // Each process on a shared store keeps its own embedded index in its own DATA_DIR.
      out.warn(`DATA_DIR holds no embedded search index (${separateIndexFileIn(config.dataDir)}); with MONGODB_URL and no MEILI_URL, point DATA_DIR at the server's`);
      return EXIT.failed;
    }
    const store = await openConfiguredStore(config, out);
    if (!store) return EXIT.failed;
    try {
      const db = collections(store, config.dataKeys);
      if (!config.MEILI_URL) {
        if (held) {
          await requestSearchRebuild(db.counters);
          out.say('A Lectern server holds DATA_DIR and its embedded search index: a rebuild is requested in the store.');
          out.say('Restart the server to rebuild the index ("a rebuild of the search index was requested" in its log; /readyz says search is loading until it is done).');
          return EXIT.ok;
        }
      }
      return await rebuildNow(store, config, out);
    } finally {
      await store.close();
    }
  },
};

async function rebuildNow(store: Store, config: Config, out: AdminOutput): Promise<number> {
  const db = collections(store, config.dataKeys);
  const index = await openSearchIndex(config, createLogger({ level: 'silent' }), { storeFile: sqliteFileOf(store) });
  try {
    const sync = new SearchSync({ index, chunks: db.chunks, counters: db.counters, pending: db.searchPending, log: createLogger({ level: 'silent' }) });
    await requestSearchRebuild(db.counters);
    const started = performance.now();
    let last = 0;
    const done = await sync.reconcile((message) => {
      // A line every few seconds on a long rebuild, so the operator sees it move.
      if (performance.now() - last > 5_000) {
        last = performance.now();
        out.say(message);
      }
    });
    const where = config.MEILI_URL ? `Meilisearch at ${config.MEILI_URL}` : 'the embedded index';
    out.say(`Rebuilt ${where} from the store: ${done.chunks} chunks indexed in ${Math.round(performance.now() - started)} ms.`);
    return EXIT.ok;
  } finally {
    await index.close();
  }
}
