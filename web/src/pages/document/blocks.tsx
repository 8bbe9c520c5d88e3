// A document's blocks as HTML: headings below the page separators, lists, code, captions, and
// runs of table rows as a real table (screen readers announce its rows, columns and headers).
import type { Ref } from 'preact';
import type { ContentBlock } from '../../api.ts';
import { Marked } from '../../components/highlight.tsx';
import { clipRange, type Range } from '../../components/text-ranges.ts';
import { tableRows, type Cell } from './table-rows.ts';

/** Document headings sit below the page separators (h2) in the outline. */
const headingTag = (level: number | null) => `h${Math.min(6, 2 + Math.max(1, level ?? 1))}` as 'h3';

interface Group {
  kind: 'list' | 'table' | 'single';
  blocks: ContentBlock[];
}

/** Runs of list items and table rows become one list or table. */
function group(blocks: readonly ContentBlock[]): Group[] {
  const out: Group[] = [];
  for (const block of blocks) {
    const kind = block.kind === 'list-item' ? 'list' : block.kind === 'table-row' ? 'table' : 'single';
    const last = out.at(-1);
    if (kind !== 'single' && last?.kind === kind) last.blocks.push(block);
    else out.push({ kind, blocks: [block] });
  }
  return out;
}

export interface Highlight {
  passage: Range | null;
  /** The block where the passage starts; only its first mark takes `markRef`. */
  first: ContentBlock | undefined;
  markRef: Ref<HTMLElement> | undefined;
}

function Text({ text, start, passage, markRef }: { text: string; start: number; passage: Range | null; markRef: Ref<HTMLElement> | undefined }) {
  const clipped = passage && clipRange(passage, start, text.length);
  return <Marked text={text} ranges={clipped ? [clipped] : []} markRef={clipped ? markRef : undefined} markClass="passage" />;
}

function Block({ block, highlight }: { block: ContentBlock; highlight: Highlight }) {
  const text = <Text text={block.text} start={block.start} passage={highlight.passage} markRef={block === highlight.first ? highlight.markRef : undefined} />;
  switch (block.kind) {
    case 'heading': {
      const Tag = headingTag(block.level);
      return <Tag class="block-heading">{text}</Tag>;
    }
    case 'code':
      return (
        <pre class="block-code">
          <code>{text}</code>
        </pre>
      );
    case 'caption':
      return <p class="block-caption">{text}</p>;
    case 'list-item':
      return <li class={`block-li indent-${Math.min(4, block.level ?? 0)}`}>{text}</li>;
    default:
      return <p>{text}</p>;
  }
}

function Table({ blocks, highlight }: { blocks: ContentBlock[]; highlight: Highlight }) {
  const { head, body } = tableRows(blocks);
  // The mark to focus is the first marked cell of the block where the passage starts.
  const owner = highlight.first && blocks.includes(highlight.first) ? highlight.first : undefined;
  let refGiven = false;
  const cell = (c: Cell) => {
    const marks = highlight.passage && clipRange(highlight.passage, c.start, c.text.length);
    const takesRef = !refGiven && marks && owner && c.start >= owner.start && c.start < owner.end;
    if (takesRef) refGiven = true;
    return <Text text={c.text} start={c.start} passage={highlight.passage} markRef={takesRef ? highlight.markRef : undefined} />;
  };
  return (
    <div class="doc-table-wrap">
      <table class="doc-table">
        {head.length > 0 && (
          <thead>
            {head.map((row) => (
              <tr key={row[0]?.start}>
                {row.map((c) => (
                  <th key={c.start} scope="col">
                    {cell(c)}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
        )}
        <tbody>
          {body.map((row) => (
            <tr key={row[0]?.start}>
              {row.map((c) => (
                <td key={c.start}>{cell(c)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Blocks({ blocks, highlight }: { blocks: readonly ContentBlock[]; highlight: Highlight }) {
  return (
    <>
      {group(blocks).map((g) => {
        const key = g.blocks[0]?.start;
        if (g.kind === 'list')
          return (
            <ul key={key} class="block-list">
              {g.blocks.map((b) => (
                <Block key={b.start} block={b} highlight={highlight} />
              ))}
            </ul>
          );
        if (g.kind === 'table') return <Table key={key} blocks={g.blocks} highlight={highlight} />;
        return g.blocks.map((b) => <Block key={b.start} block={b} highlight={highlight} />);
      })}
    </>
  );
}
