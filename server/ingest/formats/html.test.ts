import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import iconv from 'iconv-lite';
import { ByteSource } from '../source.ts';
import { brief, needsShared, runParser, sharedFile, testRun } from '../testing.ts';
import { parseHtml } from './html.ts';

const parse = (input: string | Uint8Array) => runParser(parseHtml, input);

describe('parseHtml', () => {
  it('keeps the content and drops page chrome', async () => {
    const { blocks, title } = await parse(`<!doctype html><html><head><title> Ducks &amp; Geese </title><style>p{}</style>
      <script>var secret = "script text";</script></head><body>
      <nav><a href="/">Home</a></nav><header class="site-header"><div class="navbar">Menu</div></header>
      <main><h1>Ducks</h1><p>Ducks &mdash; <b>waterfowl</b>&nbsp;of the family <i>Anatidae</i>.</p>
      <noscript>Enable JS</noscript><template><p>template text</p></template>
      <div hidden>hidden text</div><div aria-hidden="true">aria hidden</div><p style="display: none">invisible</p>
      <h2>Diet <span class="mw-editsection">[edit]</span></h2><div>Loose text in a div<p>and a paragraph</p>tail text</div>
      <pre><code>quack()
  quack()</code></pre></main>
      <aside>Related links</aside><footer>© 2024</footer></body></html>`);
    assert.equal(title, 'Ducks & Geese');
    assert.deepEqual(brief(blocks), [
      'heading1: Ducks',
      'paragraph: Ducks — waterfowl of the family Anatidae.',
      'heading2: Diet',
      'paragraph: Loose text in a div',
      'paragraph: and a paragraph',
      'paragraph: tail text',
      'code: quack()\n  quack()',
    ]);
  });

  it('gives list items their nesting depth', async () => {
    const { blocks } = await parse('<ul><li>one<ul><li>one.a</li><li>one.b<ol><li>deep</li></ol></li></ul></li><li>two</li></ul>');
    assert.deepEqual(brief(blocks), ['list-item0: one', 'list-item1: one.a', 'list-item1: one.b', 'list-item2: deep', 'list-item0: two']);
  });

  it('reads data tables as Markdown rows and layout tables as content', async () => {
    const { blocks } = await parse(`<table><caption>Doses</caption><tr><th>Drug</th><th>mg</th><th>Note</th></tr>
      <tr><td><p>Aspirin</p></td><td>100</td></tr><tr><td></td><td></td></tr><tr><td colspan="2">Both a|b</td><td>n</td></tr></table>
      <table><tr><td><h1>Site title</h1></td></tr><tr><td><p>Body in a layout table</p>
        <table><tr><td>C</td><td>0.39</td></tr></table></td></tr></table>`);
    assert.deepEqual(brief(blocks), [
      'caption: Doses',
      'table-row: | Drug | mg | Note |\n| --- | --- | --- |',
      'table-row: | Aspirin | 100 | |',
      'table-row: | Both a\\|b | | n |',
      'heading1: Site title',
      'paragraph: Body in a layout table',
      'table-row: | C | 0.39 |\n| --- | --- |',
    ]);
  });

  it('honours a meta charset and reports the encoding', async () => {
    const bytes = new Uint8Array(iconv.encode('<html><head><meta charset="koi8-r"></head><body><p>Привет, мир</p></body></html>', 'koi8-r'));
    const { blocks, encoding } = await parse(bytes);
    assert.equal(encoding, 'koi8-r');
    assert.equal(blocks[0]?.text, 'Привет, мир');
    const equiv = new Uint8Array(
      iconv.encode('<html><head><meta http-equiv="Content-Type" content="text/html; charset=shift_jis"></head><body><p>東京</p></body></html>', 'shift_jis'),
    );
    assert.equal((await parse(equiv)).blocks[0]?.text, '東京');
  });

  it('survives nesting far deeper than the call stack', async () => {
    const depth = 100_000;
    const { blocks } = await parse(`${'<div>'.repeat(depth)}deep text${'</div>'.repeat(depth)}`);
    assert.deepEqual(brief(blocks), ['paragraph: deep text']);
  });

  it('refuses markup longer than the text limit as soon as it is read that far', async () => {
    const piece = new TextEncoder().encode('<p>A paragraph of the page.</p>\n'.repeat(2048));
    let read = 0;
    const pieces = async function* () {
      yield new TextEncoder().encode('<!doctype html><html><body>');
      for (let i = 0; i < 1000; i++, read++) yield piece;
    };
    const source = new ByteSource({ filename: 'a.html', size: 1000 * piece.length + 27, stream: async () => pieces() });
    await assert.rejects(parseHtml(source, testRun({ maxTextChars: 3_000_000 })), {
      code: 'too_large',
      message: /^The HTML is more than 3,000,000 characters long; .* the 3,000,000-character text limit$/,
    });
    assert.ok(read < 60, `read ${read} of 1000 pieces`);
  });

  describe('shared documents', { skip: needsShared }, () => {
    it('reads the Windows-1252 page', async () => {
      const { blocks, encoding } = await parse(sharedFile('html/cp1252-encoded.html'));
      assert.equal(encoding, 'windows-1252');
      assert.equal(blocks[0]?.text, 'My First Heading');
      const code = blocks.find((b) => b.kind === 'code')?.text ?? '';
      assert.match(code, /Die schöne Frau hat einen Kaffee/);
      assert.match(code, /L'été était très chaud/);
      assert.match(code, /El niño comió paella con ñoquis/);
      assert.match(code, /15,50 €/);
    });

    it('reads the Wikipedia article without its chrome', async () => {
      const { blocks, title } = await parse(sharedFile('html/wikipedia-duck.html'));
      assert.equal(title, 'Duck - Wikipedia');
      const texts = brief(blocks);
      assert.ok(texts.includes('heading1: Duck'));
      assert.ok(texts.includes('heading2: Etymology'));
      assert.ok(texts.includes('table-row: | Kingdom: | Animalia |'));
      assert.ok(texts.some((t) => t.startsWith('paragraph: Duck is the common name for numerous species of waterfowl')));
      assert.ok(!texts.some((t) => /Afrikaans|\[edit\]|Jump to content/.test(t)), 'language menu and edit links are chrome');
    });

    it('reads the datasheet tables', async () => {
      const texts = brief((await parse(sharedFile('html/steel-jis-datasheet.html'))).blocks);
      assert.ok(texts.includes('heading2: SNB22-3 Chemical composition, standards and properties'));
      assert.ok(texts.includes('table-row: | C | Si | Mn | P | S | Cr | Mo |\n| --- | --- | --- | --- | --- | --- | --- |'));
      assert.ok(texts.includes('table-row: | 0.39 - 0.46 | 0.2 - 0.35 | 0.65 - 1.1 | max 0.025 | max 0.025 | 0.75 - 1.2 | 0.15 - 0.25 |'));
      assert.ok(texts.includes('table-row: | Bars | 890 | 1000 | 12 | 40 | |'), 'a row short of cells is padded to the header');
    });
  });
});
