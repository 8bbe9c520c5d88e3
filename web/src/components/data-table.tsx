import type { ComponentChildren } from 'preact';
import type { Resource } from '../hooks/use-resource.ts';
import { ResourceView } from './resource-view.tsx';

export interface Column<T> {
  header: string;
  cell(row: T): ComponentChildren;
  class?: string;
}

interface TableProps<T> {
  caption: string;
  columns: readonly Column<T>[];
  rows: readonly T[];
  rowKey(row: T): string;
  empty: string;
}

/**
 * On phones the CSS turns rows into stacked cards and shows `data-label` before each cell; the
 * explicit roles keep the table semantics that `display: block` would otherwise drop.
 */
export function DataTable<T>({ caption, columns, rows, rowKey, empty }: TableProps<T>) {
  if (rows.length === 0) return <p class="empty">{empty}</p>;
  return (
    <div class="table-wrap">
      <table class="data-table" role="table">
        <caption class="visually-hidden">{caption}</caption>
        <thead role="rowgroup">
          <tr role="row">
            {columns.map((c) => (
              <th key={c.header} scope="col" role="columnheader" class={c.class}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {rows.map((row) => (
            <tr key={rowKey(row)} role="row">
              {columns.map((c) => (
                <td key={c.header} role="cell" data-label={c.header} class={c.class}>
                  {/* One wrapper so the stacked layout's label/value grid sees exactly two items. */}
                  <div class="cell">{c.cell(row)}</div>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The usual page body: a list loaded from the API, with loading and error states. */
export function ResourceTable<T>({ resource, ...table }: Omit<TableProps<T>, 'rows'> & { resource: Resource<T[]> }) {
  return <ResourceView resource={resource}>{(rows) => <DataTable {...table} rows={rows} />}</ResourceView>;
}
