import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { newId } from '../auth/tokens.ts';
import type { LlmMetrics } from '../metrics/recorder.ts';
import { pastSpan } from '../tracing/spans.ts';

/** One answer's consumption: the unit of the usage ledger. */
export interface UsageDoc {
  _id: string;
  organisationId: string;
  kbId: string | null;
  conversationId: string | null;
  messageId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  /** "local", "cloud:<name>" or "extractive". */
  engine: string;
  engineKind: 'local' | 'cloud' | 'extractive';
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  firstTokenMs: number | null;
  totalMs: number;
  /** Estimated from the configured price table; 0 for local and extractive answers. */
  cost: number;
  /** Whether data left the box for this answer. */
  cloud: boolean;
  at: string;
  /** YYYY-MM-DD (UTC), for grouping by day without date arithmetic in the store. */
  day: string;
  /** Spoken turns: audio in and out, and what the voice synthesised. */
  voice?: { audioInSeconds: number; audioOutSeconds: number; charactersSynthesised: number; stt: string | null; voice: string | null };
}

export type UsageEntry = Omit<UsageDoc, '_id' | 'at' | 'day' | 'cost' | 'voice'>;

export interface PriceTable {
  inputPerMTok: number;
  outputPerMTok: number;
}

export const usageGroups = ['day', 'user', 'kb', 'engine'] as const;
export type UsageGroup = (typeof usageGroups)[number];

export interface UsageRow {
  key: string;
  messages: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  cost: number;
  cloudMessages: number;
  avgFirstTokenMs: number | null;
  avgTotalMs: number;
  audioInSeconds: number;
  audioOutSeconds: number;
  charactersSynthesised: number;
}

export class UsageLedger {
  readonly #d: { usage: Collection<UsageDoc>; clock: Clock; random: Random; prices: PriceTable; metrics: LlmMetrics };

  constructor(deps: { usage: Collection<UsageDoc>; clock: Clock; random: Random; prices: PriceTable; metrics: LlmMetrics }) {
    this.#d = deps;
  }

  async record(entry: UsageEntry): Promise<UsageDoc> {
    const at = this.#d.clock.now().toISOString();
    const { inputPerMTok, outputPerMTok } = this.#d.prices;
    const cost = entry.engineKind === 'cloud' ? (entry.promptTokens * inputPerMTok + entry.completionTokens * outputPerMTok) / 1e6 : 0;
    const doc: UsageDoc = { ...entry, _id: newId(this.#d.random), at, day: at.slice(0, 10), cost: Math.round(cost * 1e6) / 1e6 };
    await tenantCollection(this.#d.usage, entry.organisationId).insertOne(doc);
    // Every generated answer passes here, with its engine, timings, tokens and cost.
    if (entry.engineKind !== 'extractive') {
      const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);
      this.#d.metrics.generation(entry.engineKind, seconds(entry.firstTokenMs), entry.completionTokens, entry.totalMs / 1000);
      pastSpan(
        'llm generate',
        entry.totalMs,
        { 'lectern.llm.engine': entry.engine, 'lectern.llm.engine_kind': entry.engineKind, 'gen_ai.usage.input_tokens': entry.promptTokens, 'gen_ai.usage.output_tokens': entry.completionTokens },
        { 'first token': entry.firstTokenMs },
      );
      if (entry.engineKind === 'cloud') this.#d.metrics.cloudCall(entry.engine, doc.cost);
    }
    return doc;
  }

  /** Adds a spoken turn's audio to the entry of its answer. */
  async recordVoice(organisationId: string, messageId: string, voice: NonNullable<UsageDoc['voice']>): Promise<void> {
    await tenantCollection(this.#d.usage, organisationId).updateOne({ messageId }, { $set: { voice: { ...voice } } });
  }

  /** Totals per group key within [from, to) (ISO dates or times), sorted by key. */
  async summarise(organisationId: string, groupBy: UsageGroup, range: { from: string; to: string }): Promise<UsageRow[]> {
    const docs = await tenantCollection(this.#d.usage, organisationId).find({ at: { $gte: range.from, $lt: range.to } }).toArray();
    const keyOf: Record<UsageGroup, (d: UsageDoc) => string> = {
      day: (d) => d.day,
      user: (d) => d.userId ?? (d.apiKeyId ? `apiKey:${d.apiKeyId}` : 'unknown'),
      kb: (d) => d.kbId ?? 'none',
      engine: (d) => d.engine,
    };
    const rows = new Map<string, UsageRow & { firstTokenSum: number; firstTokenCount: number; totalSum: number }>();
    for (const d of docs) {
      const key = keyOf[groupBy](d);
      const row = rows.get(key) ?? { key, messages: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, cost: 0, cloudMessages: 0, avgFirstTokenMs: null, avgTotalMs: 0, audioInSeconds: 0, audioOutSeconds: 0, charactersSynthesised: 0, firstTokenSum: 0, firstTokenCount: 0, totalSum: 0 };
      row.messages++;
      row.promptTokens += d.promptTokens;
      row.completionTokens += d.completionTokens;
      row.cachedPromptTokens += d.cachedPromptTokens;
      row.cost += d.cost;
      row.cloudMessages += d.cloud ? 1 : 0;
      row.totalSum += d.totalMs;
      row.audioInSeconds += d.voice?.audioInSeconds ?? 0;
      row.audioOutSeconds += d.voice?.audioOutSeconds ?? 0;
      row.charactersSynthesised += d.voice?.charactersSynthesised ?? 0;
      if (d.firstTokenMs !== null) {
        row.firstTokenSum += d.firstTokenMs;
        row.firstTokenCount++;
      }
      rows.set(key, row);
    }
    return [...rows.values()]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map(({ firstTokenSum, firstTokenCount, totalSum, ...row }) => ({
        ...row,
        cost: Math.round(row.cost * 1e6) / 1e6,
        audioInSeconds: Math.round(row.audioInSeconds * 10) / 10,
        audioOutSeconds: Math.round(row.audioOutSeconds * 10) / 10,
        avgFirstTokenMs: firstTokenCount ? Math.round(firstTokenSum / firstTokenCount) : null,
        avgTotalMs: Math.round(totalSum / row.messages),
      }));
  }
}
