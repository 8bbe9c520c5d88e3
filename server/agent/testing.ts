import type { ChunkPage } from '../chunks/chunk.ts';
import { kbHits } from '../kb/search.ts';
import { createAnalyzer } from '../search/analyzer.ts';
import { createEmbeddedSearch } from '../search/embedded/engine.ts';
import type { ChunkRecord } from '../search/search.ts';
import type { Passage, PassageSearch } from './types.ts';

// Test support: a real PassageSearch over the embedded index (keyword mode), and a small clinic
// knowledge base to search, so agent tests exercise real retrieval and real scores.

export interface TestChunk {
  id: string;
  documentId: string;
  documentName: string;
  headings: string[];
  page: number | null;
  text: string;
  /** Where each page begins in `text`, for a chunk crossing pages (default: all of it on `page`). */
  pages?: ChunkPage[];
}

/** A passage's pages when a test gives only its page: all of its text on that page. */
const onePage = (page: number | null, label: string | null = null): ChunkPage[] => (page === null ? [] : [{ number: page, label, offset: 0 }]);

export const CLINIC: readonly TestChunk[] = [
  {
    id: 'intake-1',
    documentId: 'doc-intake',
    documentName: 'Intake policy',
    headings: ['Admissions', 'Eligibility'],
    page: 4,
    text:
      'New patients must register at the front desk before their first appointment. Registration requires a photo ID and a referral letter from a general practitioner. ' +
      'Children under 16 must be accompanied by a parent or guardian.',
  },
  {
    id: 'intake-2',
    documentId: 'doc-intake',
    documentName: 'Intake policy',
    headings: ['Admissions', 'Waiting list'],
    page: 5,
    text: 'The waiting list is reviewed every Monday by the intake coordinator. Urgent referrals are triaged within 48 hours of arrival.',
  },
  {
    id: 'infection-1',
    documentId: 'doc-infection',
    documentName: 'Infection control',
    headings: ['Hand hygiene'],
    page: 2,
    text: 'Staff must wash their hands before and after every patient contact. Alcohol-based hand rub may be used when hands are not visibly soiled.',
  },
  {
    id: 'infection-2',
    documentId: 'doc-infection',
    documentName: 'Infection control',
    headings: ['Equipment', 'Air filters'],
    page: 7,
    text:
      'The treatment rooms have ceiling air filters. The air filters are replaced every three months by the facilities team. ' +
      'Each filter replacement is logged in the maintenance register with the date and the technician’s name.',
  },
  {
    id: 'infection-3',
    documentId: 'doc-infection',
    documentName: 'Infection control',
    headings: ['Equipment', 'Sterilisation'],
    page: 8,
    text: 'Instruments are sterilised in the autoclave at 134 °C for at least three minutes. The autoclave is tested every morning with a Bowie-Dick test.',
  },
  {
    // The intake page again, uploaded twice: extractive answers must not quote it twice.
    id: 'intake-copy-1',
    documentId: 'doc-intake-copy',
    documentName: 'Intake policy (copy)',
    headings: ['Admissions', 'Eligibility'],
    page: 4,
    text:
      'New patients must register at the front desk before their first appointment. Registration requires a photo ID and a referral letter from a general practitioner. ' +
      'Children under 16 must be accompanied by a parent or guardian.',
  },
  {
    id: 'handbook-1',
    documentId: 'doc-handbook',
    documentName: 'Staff handbook',
    headings: ['Leave'],
    page: null,
    text: 'Annual leave requests must be submitted four weeks in advance through the staff portal.',
  },
];

export interface TestSearch {
  search: PassageSearch;
  /** Every query the agent ran, in order. */
  queries: { query: string; k: number; documentIds: string[] | undefined }[];
  close(): Promise<void>;
}

export async function testSearch(chunks: readonly TestChunk[] = CLINIC): Promise<TestSearch> {
  const index = await createEmbeddedSearch({ file: null });
  const records: ChunkRecord[] = chunks.map((c) => {
    const pages = c.pages ?? onePage(c.page);
    return { ...c, organisationId: 'org', kbId: 'kb', pageEnd: pages.at(-1)?.number ?? null, pages, start: 0, end: c.text.length };
  });
  const analyzer = createAnalyzer();
  await index.upsert(records);
  const queries: TestSearch['queries'] = [];
  const search: PassageSearch = async (query, { k, documentIds }) => {
    queries.push({ query, k, documentIds });
    const { hits } = await index.search({ query, filter: { organisationId: 'org', kbId: 'kb', documentIds }, limit: k, mode: 'keyword' });
    return kbHits(analyzer, hits, query);
  };
  return { search, queries, close: () => index.close() };
}

/** A passage with defaults, for unit tests that need no search; unless `pages` is given, all of it is on `page`. */
export function passage(chunkId: string, text: string, extra: Partial<Passage> = {}): Passage {
  const page = extra.page === undefined ? 1 : extra.page;
  const pages = extra.pages ?? onePage(page, extra.pageLabel);
  return {
    chunkId,
    documentId: 'doc-1',
    documentName: 'Manual',
    pageLabel: null,
    headings: [],
    text,
    score: 1,
    matchedTerms: [],
    start: 0,
    end: text.length,
    ...extra,
    page,
    pages,
    firstPage: pages[0]?.number ?? null,
    lastPage: pages.at(-1)?.number ?? null,
  };
}
