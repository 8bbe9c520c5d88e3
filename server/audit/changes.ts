// What an update changed, as audit details: one entry per changed top-level field. Store field
// names cannot hold dots (as in MongoDB), so a section's changes are named inside its value.

const MAX_VALUE_CHARS = 120;

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? 'unset' : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function isSection(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `path before → after` for each changed leaf under a section, paths relative to it. */
function leaves(before: Record<string, unknown>, after: Record<string, unknown>, prefix: string): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].flatMap((key) => {
    const [was, is] = [before[key], after[key]];
    if (isSection(was) && isSection(is)) return leaves(was, is, `${prefix}${key}.`);
    return JSON.stringify(was) === JSON.stringify(is) ? [] : [`${prefix}${key} ${show(was)} → ${show(is)}`];
  });
}

/**
 * `{name: 'Policies → Site policies', settings: 'chunkSize 350 → 300, retrievalMode hybrid → keyword'}`:
 * a section names the fields that changed in it, not two whole objects. Arrays compare by their JSON.
 */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, string> {
  const changes: Record<string, string> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [was, is] = [before[key], after[key]];
    if (isSection(was) && isSection(is)) {
      const changed = leaves(was, is, '');
      if (changed.length > 0) changes[key] = changed.join(', ');
    } else if (JSON.stringify(was) !== JSON.stringify(is)) {
      changes[key] = `${show(was)} → ${show(is)}`;
    }
  }
  return changes;
}
