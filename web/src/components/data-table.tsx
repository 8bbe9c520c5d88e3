import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
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

const PHONE = '(max-width: 40rem)';
const STACKED = 'table-stacked';

/**
 * Whether the table in `wrap` is shown stacked, a card per row: always on phones, and wherever,
 * laid out as a table, it would be wider than its box (the columns it needs depend on its data,
 * so this is measured, not guessed from the screen width).
 */
function useStacked(wrap: { current: HTMLDivElement | null }, content: unknown[]): boolean {
  const [stacked, setStacked] = useState(() => matchMedia(PHONE).matches);
  const measure = () => {
    const el = wrap.current;
    if (!el) return;
    if (matchMedia(PHONE).matches) return setStacked(true);
    // Lay it out as a table for the measurement; the class is back before anything is painted.
    const was = el.classList.contains(STACKED);
    el.classList.remove(STACKED);
    const overflows = el.scrollWidth > el.clientWidth + 1;
    if (was) el.classList.add(STACKED);
    setStacked(overflows);
  };
  useLayoutEffect(measure, content);
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const phone = matchMedia(PHONE);
    const resized = new ResizeObserver(measure);
    resized.observe(el);
    phone.addEventListener('change', measure);
    return () => {
      resized.disconnect();
      phone.removeEventListener('change', measure);
    };
    // oxlint-disable-next-line react/exhaustive-deps -- measure reads only the element and the media query
  }, []);
  return stacked;
}

/**
 * Stacked (see useStacked), the CSS turns rows into cards and shows `data-label` before each cell;
 * the explicit roles keep the table semantics that `display: block` would otherwise drop.
 */
export function DataTable<T>(props: TableProps<T>) {
  if (props.rows.length === 0) return <p class="empty">{props.empty}</p>;
  return <Table {...props} />;
}

function Table<T>({ caption, columns, rows, rowKey }: TableProps<T>) {
  const wrap = useRef<HTMLDivElement>(null);
  const stacked = useStacked(wrap, [rows, columns]);
  return (
    <div ref={wrap} class={stacked ? `table-wrap ${STACKED}` : 'table-wrap'}>
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
