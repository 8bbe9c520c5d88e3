// Markdown via micromark/mdast with GFM (tables, task lists, footnotes, strikethrough). Inline
// markup is stripped to its visible text (links keep their text, images their alt text); raw
// HTML blocks go through the HTML extractor.

import type { Nodes } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { decodeText } from '../decode.ts';
import { traverse, type ParseRun } from '../run.ts';
import { htmlFragmentToBlocks } from './html.ts';

const childrenOf = (node: Nodes): readonly Nodes[] | undefined => ('children' in node ? node.children : undefined);

/** Visible text of phrasing content. */
function inline(node: Nodes): string {
  let text = '';
  traverse(node, childrenOf, (n) => {
    if (n.type === 'text' || n.type === 'inlineCode') text += n.value;
    else if (n.type === 'image' || n.type === 'imageReference') text += n.alt ?? '';
    else if (n.type === 'break' || (n.type === 'html' && /^<br\b/i.test(n.value))) text += ' ';
    return true;
  }, () => {});
  return text;
}

/** YAML front matter is metadata, not content; its `title` is the document's title. */
export function splitFrontMatter(text: string): { body: string; title?: string } {
  const match = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match) return { body: text };
  const title = /^title:[ \t]*(.+)$/m.exec(match[1] ?? '')?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2');
  const body = text.slice(match[0].length);
  return title ? { body, title } : { body };
}

export function parseMarkdown(bytes: Uint8Array, run: ParseRun): { title?: string; encoding: string } {
  const { text, encoding } = decodeText(bytes);
  const front = splitFrontMatter(text);
  let title = front.title;
  const tree = fromMarkdown(front.body, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
  run.checkpoint();
  let listDepth = 0;
  let itemDepth = 0;
  traverse<Nodes>(
    tree,
    childrenOf,
    (node) => {
      switch (node.type) {
        case 'heading': {
          const heading = inline(node);
          if (node.depth === 1 && title === undefined && heading.trim()) title = heading.trim();
          run.add('heading', heading, { level: node.depth });
          return false;
        }
        case 'paragraph':
          if (itemDepth > 0) run.add('list-item', inline(node), { level: listDepth - 1 });
          else run.add('paragraph', inline(node));
          return false;
        case 'code':
          run.add('code', node.value);
          return false;
        case 'html':
          htmlFragmentToBlocks(node.value, run);
          return false;
        case 'tableRow': {
          const cells = node.children.map((cell) => inline(cell).replace(/\s+/g, ' ').trim());
          if (cells.some(Boolean)) run.add('table-row', cells.join(' | '));
          return false;
        }
        case 'list':
          listDepth++;
          return true;
        case 'listItem':
          itemDepth++;
          return true;
        case 'blockquote':
        case 'root':
        case 'table':
        case 'footnoteDefinition':
          return true;
        default:
          return false;
      }
    },
    (node) => {
      if (node.type === 'list') listDepth--;
      else if (node.type === 'listItem') itemDepth--;
    },
  );
  return title === undefined ? { encoding } : { title, encoding };
}
