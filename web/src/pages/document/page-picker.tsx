// "Go to page": every page of the document, whether or not it is rendered at the moment.
import { useId } from 'preact/hooks';
import type { DocContent } from '../../api.ts';
import { pageName } from '../kb-search.tsx';

export function PagePicker({ content, value, onPage }: { content: DocContent; value: number | null; onPage(n: number): void }) {
  const id = useId();
  if (!content.pages || content.pages.length < 2) return null;
  return (
    <div class="field page-picker">
      <label for={id}>Go to page</label>
      <select id={id} value={value ?? ''} onChange={(e) => onPage(Number(e.currentTarget.value))}>
        {value === null && <option value="">Choose a page</option>}
        {content.pages.map((p) => (
          <option key={p.number} value={p.number}>
            {pageName(p.number, p.label)}
          </option>
        ))}
      </select>
    </div>
  );
}
