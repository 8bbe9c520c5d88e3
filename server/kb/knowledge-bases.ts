import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { errors } from '../errors.ts';
import { newId } from '../auth/tokens.ts';
import type { z } from 'zod';
import type { Kb } from './schema.ts';

export const retrievalModes = ['hybrid', 'keyword', 'vector'] as const;
export type RetrievalMode = (typeof retrievalModes)[number];

// A type alias, not an interface, so it is assignable to the store's JSON value type.
export type KbSettings = {
  /** Upper bound per chunk, in tokens of the embedding model's tokenizer (≈4 characters each without one). */
  chunkSize: number;
  chunkOverlap: number;
  retrievalMode: RetrievalMode;
  /** null: the instance default (EMBEDDING_MODEL). */
  embeddingModel: string | null;
  /** Tesseract codes scanned pages are read with, e.g. ["rus"] or ["eng", "fra"]; null: the instance default (OCR_LANGUAGES). */
  ocrLanguages: string[] | null;
};

export const defaultKbSettings: KbSettings = { chunkSize: 350, chunkOverlap: 50, retrievalMode: 'hybrid', embeddingModel: null, ocrLanguages: null };

export interface KbDoc {
  _id: string;
  organisationId: string;
  name: string;
  description: string;
  settings: KbSettings;
  createdAt: string;
  updatedAt: string;
}

export interface KbChanges {
  name?: string | undefined;
  description?: string | undefined;
  settings?: Partial<KbSettings> | undefined;
}

export class KnowledgeBaseService {
  readonly #deps: { kbs: Collection<KbDoc>; clock: Clock; random: Random };

  constructor(deps: { kbs: Collection<KbDoc>; clock: Clock; random: Random }) {
    this.#deps = deps;
  }

  #scoped(organisationId: string): Collection<KbDoc> {
    return tenantCollection(this.#deps.kbs, organisationId);
  }

  list(organisationId: string): Promise<KbDoc[]> {
    return this.#scoped(organisationId).find({}, { sort: { name: 1, _id: 1 } }).toArray();
  }

  async get(organisationId: string, id: string): Promise<KbDoc> {
    const kb = await this.#scoped(organisationId).findOne({ _id: id });
    if (!kb) throw errors.notFound('knowledge base');
    return kb;
  }

  async create(organisationId: string, input: { name: string; description?: string | undefined; settings?: Partial<KbSettings> | undefined }): Promise<KbDoc> {
    const now = this.#deps.clock.now().toISOString();
    const kb: KbDoc = {
      _id: newId(this.#deps.random),
      organisationId,
      name: input.name.trim(),
      description: input.description?.trim() ?? '',
      settings: validSettings({ ...defaultKbSettings, ...input.settings }),
      createdAt: now,
      updatedAt: now,
    };
    await this.#scoped(organisationId).insertOne(kb);
    return kb;
  }

  async update(organisationId: string, id: string, changes: KbChanges): Promise<{ kb: KbDoc; chunkingChanged: boolean }> {
    const kb = await this.get(organisationId, id);
    const settings = validSettings({ ...defaultKbSettings, ...kb.settings, ...changes.settings });
    const $set: Partial<KbDoc> = { updatedAt: this.#deps.clock.now().toISOString(), settings };
    if (changes.name !== undefined) $set.name = changes.name.trim();
    if (changes.description !== undefined) $set.description = changes.description.trim();
    const updated = await this.#scoped(organisationId).findOneAndUpdate({ _id: id }, { $set }, { returnDocument: 'after' });
    if (!updated) throw errors.notFound('knowledge base');
    const chunkingChanged =
      settings.chunkSize !== kb.settings.chunkSize || settings.chunkOverlap !== kb.settings.chunkOverlap || settings.embeddingModel !== kb.settings.embeddingModel;
    return { kb: updated, chunkingChanged };
  }

  async remove(organisationId: string, id: string): Promise<void> {
    await this.#scoped(organisationId).deleteOne({ _id: id });
  }
}

function validSettings(settings: KbSettings): KbSettings {
  if (settings.chunkOverlap >= settings.chunkSize) throw errors.validation([{ path: 'settings.chunkOverlap', message: 'must be smaller than chunkSize' }]);
  return settings;
}

type KbView = z.input<typeof Kb>;

/** A knowledge base as the API shows it, with its document counts, the embedder's state and the OCR languages on offer beside it. */
export function presentKb(kb: KbDoc, stats: KbView['stats'], embeddings: KbView['embeddings'], ocr: KbView['ocr']): KbView {
  // Knowledge bases stored before a setting existed have its default.
  const settings = { ...defaultKbSettings, ...kb.settings };
  return { id: kb._id, name: kb.name, description: kb.description, createdAt: kb.createdAt, updatedAt: kb.updatedAt, settings, stats, embeddings, ocr };
}
