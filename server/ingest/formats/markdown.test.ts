import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brief, needsShared, runParser, sharedFile, sharedFiles } from '../testing.ts';
import { MarkdownSections, parseMarkdown, SECTION_CHARS, splitFrontMatter } from './markdown.ts';

const parse = (input: string | Uint8Array) => runParser(parseMarkdown, input);

describe('parseMarkdown', () => {
  it('emits headings, paragraphs, nested list items, code and GFM tables with markup stripped', async () => {
    const { blocks, title } = await parse(`# Guide to *ducks*

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

| Drug | Dose | Form |
|------|-----:|:----:|
| Aspirin | 100 mg |
| *Pipe* \\| in | \`5\` |

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
      'table-row: | Drug | Dose | Form |\n| --- | ---: | :---: |',
      'table-row: | Aspirin | 100 mg | |',
      'table-row: | Pipe \\| in | 5 | |',
      'heading2: Setext heading',
      'paragraph: Raw HTML block',
      'paragraph: Footnote reference.',
      'paragraph: The footnote text.',
    ]);
  });

  it('treats YAML front matter as metadata', async () => {
    assert.deepEqual(splitFrontMatter('---\ntitle: "Privacy Statement"\nversions:\n  fpt: "*"\n---\n\nBody'), {
      body: '\nBody',
      title: 'Privacy Statement',
    });
    const { blocks, title } = await parse('---\ntitle: Policies\n---\n# Heading\n\nText');
    assert.equal(title, 'Policies');
    assert.deepEqual(brief(blocks), ['heading1: Heading', 'paragraph: Text']);
  });

  it('parses a long document a section at a time, cutting only where each part parses as it would in place', async () => {
    // Blank lines followed by unindented text inside a fence, a comment and a <pre> block: the
    // places a cut at any blank line would get wrong.
    const part = (i: number) => `## Part ${i}

Some *text* for part ${i}, with a [link](https://example.org/${i}).

\`\`\`
fenced code ${i}

unindented line in the fence ${i}
\`\`\`

<!--

A comment with a blank line ${i}

-->

<pre>
preformatted ${i}

still preformatted ${i}
</pre>

- item ${i}

  continued item ${i}
- another ${i}

| a | b |
|---|---|
| ${i} | x |

`;
    const parts = Array.from({ length: 2000 }, (_, i) => part(i));
    const text = parts.join('');
    assert.ok(text.length > 2 * SECTION_CHARS, `${text.length} characters`);
    const sections = new MarkdownSections();
    const cut: string[] = [];
    for (let at = 0; at < text.length; at += 10_000) cut.push(...sections.write(text.slice(at, at + 10_000)));
    cut.push(...sections.end());
    assert.ok(cut.length > 2, `${cut.length} sections`);
    assert.equal(cut.join(''), text);
    const expected = [];
    for (const p of parts.slice(0, 100)) expected.push(...(await parse(p)).blocks);
    const { blocks, title } = await parse(text);
    assert.equal(title, undefined);
    assert.equal(blocks.length, parts.length * (expected.length / 100));
    assert.deepEqual(blocks.slice(0, expected.length), expected);
    assert.deepEqual(brief(blocks.slice(-9)), [
      'heading2: Part 1999',
      'paragraph: Some text for part 1999, with a link.',
      'code: fenced code 1999\n\nunindented line in the fence 1999',
      'code: preformatted 1999\n\nstill preformatted 1999',
      'list-item0: item 1999',
      'list-item0: continued item 1999',
      'list-item0: another 1999',
      'table-row: | a | b |\n| --- | --- |',
      'table-row: | 1999 | x |',
    ]);
  });

  it('cuts a section that never reaches a safe place once it is four sections long', () => {
    const sections = new MarkdownSections();
    const text = `\`\`\`\n${'code\n\nmore\n'.repeat(SECTION_CHARS)}`;
    const cut = [...sections.write(text), ...sections.end()];
    assert.equal(cut.join(''), text);
    assert.ok(cut.every((section) => section.length <= 4 * SECTION_CHARS));
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the Latin-1 file', async () => {
      const { blocks, encoding } = await parse(sharedFile('markdown/umlauts-latin1.md'));
      assert.equal(encoding, 'windows-1252');
      assert.deepEqual(brief(blocks), ['heading2: können', 'paragraph: können', 'paragraph: äöüß']);
    });

    it('reads the GitHub policy documents with their front-matter titles', async () => {
      for (const file of sharedFiles('markdown').filter((f) => f.includes('github'))) {
        const { blocks, title } = await parse(sharedFile(file));
        assert.ok(title?.startsWith('GitHub'), file);
        assert.ok(blocks.some((b) => b.kind === 'heading') && blocks.some((b) => b.kind === 'list-item'), file);
        assert.ok(!blocks.some((b) => /^(title|redirect_from|versions):/.test(b.text)), `${file}: front matter leaked`);
      }
    });
  });
});
