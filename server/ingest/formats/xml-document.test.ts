import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approximateTokens, chunkDocument } from '../chunker.ts';
import { parseDocument } from '../parse.ts';
import { testLimits } from '../testing.ts';
import { IngestError } from '../types.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

// A PubMed Central-style article as journals deliver it: the JATS DOCTYPE, journal and author
// metadata, a structured abstract, sections with inline markup, a figure, a table, a list, MathML,
// footnotes and references, with the DTD's named characters.
const ARTICLE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2 20190208//EN" "JATS-archivearticle1.dtd">
<article xmlns:mml="http://www.w3.org/1998/Math/MathML" xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
  <front>
    <journal-meta><journal-id journal-id-type="nlm-ta">J Clin Hyg</journal-id><issn>1234-5678</issn><publisher><publisher-name>Example Press</publisher-name></publisher></journal-meta>
    <article-meta>
      <article-id pub-id-type="pmid">99999999</article-id>
      <title-group><article-title>Alcohol rubs &amp; hand hygiene on hospital wards</article-title></title-group>
      <contrib-group><contrib><name><surname>Larsen</surname><given-names>Åse</given-names></name></contrib></contrib-group>
      <aff id="aff1">Department of Infection Control, Bergen</aff>
      <abstract>
        <sec><title>Background</title><p>Hand hygiene prevents infections &ndash; when it is done.</p></sec>
        <sec><title>Results</title><p>Compliance rose from 48&#x00A0;% to 81&#x00A0;%.</p></sec>
      </abstract>
      <kwd-group><kwd>hand hygiene</kwd><kwd>alcohol-based rub</kwd></kwd-group>
    </article-meta>
  </front>
  <body>
    <sec id="s1">
      <title>Introduction</title>
      <p>Rubbing hands for <italic>twenty seconds</italic> is advised <xref ref-type="bibr" rid="r1">[1]</xref>.</p>
      <sec id="s1a">
        <title>Dose</title>
        <p>The dose is <inline-formula><mml:math><mml:mn>3</mml:mn><mml:mo>&#x00D7;</mml:mo></mml:math></inline-formula> one palmful.</p>
        <list list-type="bullet"><list-item><p>Before patient contact</p></list-item><list-item><p>After body fluid exposure</p></list-item></list>
      </sec>
    </sec>
    <fig id="f1"><label>Figure 1</label><caption><title>Compliance by month.</title><p>Bars show the share of observed opportunities.</p></caption><graphic xlink:href="f1.jpg"/></fig>
    <table-wrap id="t1"><label>Table 1</label><caption><p>Rub volumes</p></caption>
      <table><thead><tr><th>Product</th><th>Volume</th></tr></thead><tbody><tr><td>Gel</td><td>3 ml</td></tr></tbody></table>
    </table-wrap>
  </body>
  <back>
    <ack><p>We thank the ward staff.</p></ack>
    <ref-list><title>References</title>
      <ref id="r1"><label>1</label><mixed-citation>Pittet D. <article-title>Compliance with handwashing</article-title>. <source>Lancet</source> 2000.</mixed-citation></ref>
    </ref-list>
  </back>
</article>`;

describe('XML documents', () => {
  it('reads a JATS article as an article: title, abstract, sections, captions, table, list and references, no markup', async () => {
    const parsed = await parseDocument({ bytes: bytes(ARTICLE), filename: 'pmc99999999.nxml' }, testLimits());
    assert.deepEqual([parsed.format, parsed.mimeType, parsed.title], ['xml', 'application/jats+xml', 'Alcohol rubs & hand hygiene on hospital wards']);
    const lines = parsed.blocks.map((b) => `${b.kind}${b.level === undefined ? '' : b.level}: ${b.text}`);
    assert.deepEqual(lines, [
      'heading1: Alcohol rubs & hand hygiene on hospital wards',
      'heading2: Abstract',
      'heading2: Background',
      'paragraph: Hand hygiene prevents infections – when it is done.',
      'heading2: Results',
      'paragraph: Compliance rose from 48 % to 81 %.',
      'paragraph: Keywords: hand hygiene; alcohol-based rub',
      'heading2: Introduction',
      'paragraph: Rubbing hands for twenty seconds is advised [1].',
      'heading3: Dose',
      'paragraph: The dose is one palmful.',
      'list-item0: Before patient contact',
      'list-item0: After body fluid exposure',
      'caption: Figure 1. Compliance by month. Bars show the share of observed opportunities.',
      'caption: Table 1. Rub volumes',
      'table-row: | Product | Volume |\n| --- | --- |',
      'table-row: | Gel | 3 ml |',
      'paragraph: We thank the ward staff.',
      'heading2: References',
      'list-item0: 1 Pittet D. Compliance with handwashing. Lancet 2000.',
    ]);
    // Journal and author metadata stay out; so does the formula's MathML.
    const all = parsed.blocks.map((b) => b.text).join('\n');
    for (const absent of ['Example Press', '1234-5678', 'Larsen', 'Bergen', '99999999', '×']) assert.ok(!all.includes(absent), absent);
    const chunks = chunkDocument(parsed, { chunkSize: 64, chunkOverlap: 8, countTokens: approximateTokens });
    assert.ok(chunks.length > 1);
    assert.deepEqual(chunks.filter((c) => /[<>]|&[a-z]+;/.test(c.text)).map((c) => c.text), [], 'no tags or entities in any chunk');
  });

  it('reads other XML as its text, a paragraph per element that holds text', async () => {
    const feed = '<?xml version="1.0"?><rss><channel><title>Ward news</title><item><title>New <b>rub</b> dispensers</title><description>Installed on ward 7.</description></item></channel></rss>';
    const parsed = await parseDocument({ bytes: bytes(feed), filename: 'feed.txt' }, testLimits());
    assert.deepEqual([parsed.format, parsed.mimeType], ['xml', 'application/xml']);
    assert.deepEqual(parsed.blocks.map((b) => b.text), ['Ward news', 'New rub dispensers', 'Installed on ward 7.']);
  });

  it('refuses a DOCTYPE that declares anything itself, and markup that is not well-formed', async () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>';
    await assert.rejects(parseDocument({ bytes: bytes(bomb), filename: 'x.xml' }, testLimits()), (err: unknown) => err instanceof IngestError && err.code === 'unsafe');
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
    await assert.rejects(parseDocument({ bytes: bytes(xxe), filename: 'x.xml' }, testLimits()), (err: unknown) => err instanceof IngestError && err.code === 'unsafe');
    await assert.rejects(parseDocument({ bytes: bytes('<?xml version="1.0"?><a><b></a>'), filename: 'x.xml' }, testLimits()), (err: unknown) => err instanceof IngestError && err.code === 'corrupt');
  });
});
