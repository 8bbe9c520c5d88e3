import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brief, needsShared, runParser, sharedFile, sharedFiles } from '../testing.ts';
import { parseMarkdown, splitFrontMatter } from './markdown.ts';

const parse = (input: string | Uint8Array) => runParser(parseMarkdown, input);

describe('parseMarkdown', () => {
  it('emits headings, paragraphs, nested list items, code and GFM tables with markup stripped', () => {
    const { blocks, title } = parse(`# Guide to *ducks*

Ducks are [waterfowl](https://example.org "link title") with \`webbed\` feet
and **flat** bills. ![a duck](duck.png)

- first
  - nested with ~~strike~~
    1. deeper
- [x] done task

> Quoted advice.

\`\`\`python
print("quack")
\`\`\`

| Drug | Dose |
|------|-----:|
| Aspirin | 100 mg |

Setext heading
--------------

<div class="note"><p>Raw <b>HTML</b> block</p></div>

Footnote reference[^1].

[^1]: The footnote text.
`);
    assert.equal(title, 'Guide to ducks');
    assert.deepEqual(brief(blocks), [
      'heading1: Guide to ducks',
      'paragraph: Ducks are waterfowl with webbed feet and flat bills. a duck',
      'list-item0: first',
      'list-item1: nested with strike',
      'list-item2: deeper',
      'list-item0: done task',
      'paragraph: Quoted advice.',
      'code: print("quack")',
      'table-row: Drug | Dose',
      'table-row: Aspirin | 100 mg',
      'heading2: Setext heading',
      'paragraph: Raw HTML block',
      'paragraph: Footnote reference.',
      'paragraph: The footnote text.',
    ]);
  });

  it('treats YAML front matter as metadata', () => {
    assert.deepEqual(splitFrontMatter('---\ntitle: "Privacy Statement"\nversions:\n  fpt: "*"\n---\n\nBody'), {
      body: '\nBody',
      title: 'Privacy Statement',
    });
    const { blocks, title } = parse('---\ntitle: Policies\n---\n# Heading\n\nText');
    assert.equal(title, 'Policies');
    assert.deepEqual(brief(blocks), ['heading1: Heading', 'paragraph: Text']);
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the Latin-1 file', () => {
      const { blocks, encoding } = parse(sharedFile('markdown/umlauts-latin1.md'));
      assert.equal(encoding, 'windows-1252');
      assert.deepEqual(brief(blocks), ['heading2: können', 'paragraph: können', 'paragraph: äöüß']);
    });

    it('reads the GitHub policy documents with their front-matter titles', () => {
      for (const file of sharedFiles('markdown').filter((f) => f.includes('github'))) {
        const { blocks, title } = parse(sharedFile(file));
        assert.ok(title?.startsWith('GitHub'), file);
        assert.ok(blocks.some((b) => b.kind === 'heading') && blocks.some((b) => b.kind === 'list-item'), file);
        assert.ok(!blocks.some((b) => /^(title|redirect_from|versions):/.test(b.text)), `${file}: front matter leaked`);
      }
    });
  });
});
