import type { Filter } from '../store/store.ts';
import type { AuditDoc } from './audit.ts';
import { auditActions } from './actions.ts';

/** Which entries a listing or an export is about; every field narrows it. */
export interface AuditQuery {
  /** The actor's id: a user or an API key. */
  actor?: string | undefined;
  /** An action (`login`), or every action of a group when it ends with a dot (`document.`). */
  action?: string | undefined;
  /** Inclusive lower bound of `at`, an ISO time. */
  from?: string | undefined;
  /** Exclusive upper bound of `at`, an ISO time. */
  to?: string | undefined;
  outcome?: AuditDoc['outcome'] | undefined;
}

/** Where a page ended: the last entry's time and id (entries are ordered by both, newest first). */
export interface AuditCursor {
  at: string;
  id: string;
}

export function auditFilter(query: AuditQuery, before?: AuditCursor): Filter<AuditDoc> {
  const conditions: Filter<AuditDoc>[] = [];
  if (query.actor) conditions.push({ 'actor.id': query.actor });
  if (query.action?.endsWith('.')) conditions.push({ action: { $in: auditActions.filter((a) => a.startsWith(query.action as string)) } });
  else if (query.action) conditions.push({ action: query.action as AuditDoc['action'] });
  if (query.from) conditions.push({ at: { $gte: query.from } });
  if (query.to) conditions.push({ at: { $lt: query.to } });
  if (query.outcome) conditions.push({ outcome: query.outcome });
  // The first condition alone bounds an index range on `at`; the second breaks ties within one millisecond.
  if (before) conditions.push({ at: { $lte: before.at } }, { $or: [{ at: { $lt: before.at } }, { _id: { $lt: before.id } }] });
  if (conditions.length === 0) return {};
  return conditions.length === 1 ? (conditions[0] as Filter<AuditDoc>) : { $and: conditions };
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([a-z2-7]{1,64})$/;

// Opaque to clients so its shape may change; it only ever selects within the caller's own scope.
export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(`${cursor.at}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(value: string): AuditCursor | null {
  const match = CURSOR.exec(Buffer.from(value, 'base64url').toString('utf8'));
  return match ? { at: match[1] as string, id: match[2] as string } : null;
}
