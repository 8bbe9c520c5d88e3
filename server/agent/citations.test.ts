import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CitationWriter, citesShown, markerNumbers, rewriteCitations, stripCitationMarkers, type CitationWriterOptions } from './citations.ts';
import { PassageNumbers } from './context.ts';
import { passage } from './testing.ts';

function shown(count: number): PassageNumbers {
  const numbers = new PassageNumbers();
  for (let i = 1; i <= count; i++) numbers.add(passage(`chunk-${i}`, `Passage ${i} text.`, { documentName: `Doc ${i}`, page: i }), 'query');
  return numbers;
}

function options(count = 3, claims: string[] = []): CitationWriterOptions {
  const numbers = shown(count);
  return {
    resolve: (n) => numbers.get(n),
    quote: (s, claim) => {
      claims.push(claim);
      return `quote of ${s.passage.chunkId}`;
    },
  };
}

const rewrite = (text: string, count = 3) => rewriteCitations(text, options(count));

describe('markerNumbers', () => {
  it('reads lists, ranges and their spellings', () => {
    assert.deepEqual(markerNumbers('2'), [2]);
    assert.deepEqual(markerNumbers('2, 4-6'), [2, 4, 5, 6]);
    assert.deepEqual(markerNumbers('1 and 3; 2'), [1, 3, 2]);
    assert.deepEqual(markerNumbers('4–5'), [4, 5]);
    assert.deepEqual(markerNumbers('1, 1'), [1]);
    // A backwards or huge range is not expanded: its ends are still numbers the model wrote.
    assert.deepEqual(markerNumbers('3-1'), [3, 1]);
    assert.deepEqual(markerNumbers('1-500'), [1, 500]);
  });
});

describe('rewriteCitations', () => {
  it('keeps valid markers and maps them to the passages shown', () => {
    const { text, citations } = rewrite('Filters are replaced monthly [1]. Logs are kept [2].');
    assert.equal(text, 'Filters are replaced monthly [1]. Logs are kept [2].');
    assert.deepEqual(
      citations.map((c) => [c.n, c.chunkId, c.documentName, c.page, c.quote]),
      [
        [1, 'chunk-1', 'Doc 1', 1, 'quote of chunk-1'],
        [2, 'chunk-2', 'Doc 2', 2, 'quote of chunk-2'],
      ],
    );
  });

  it('removes numbers that refer to no passage shown, with the space before them', () => {
    assert.equal(rewrite('Filters are replaced monthly [7]. Logs are kept [0].').text, 'Filters are replaced monthly. Logs are kept.');
    assert.equal(rewrite('A claim [1, 7] and [9] more.').text, 'A claim [1] and more.');
    assert.deepEqual(rewrite('Nothing [4].', 3).citations, []);
  });

  it('renumbers in order of first appearance, reusing numbers for repeats', () => {
    const { text, citations } = rewrite('First [3]. Second [1]. Again [3]. Both [1][3].');
    assert.equal(text, 'First [1]. Second [2]. Again [1]. Both [2][1].');
    assert.deepEqual(
      citations.map((c) => c.chunkId),
      ['chunk-3', 'chunk-1'],
    );
  });

  it('expands ranges and lists into sorted numbers', () => {
    assert.equal(rewrite('All of it [2-3]. And [3, 1].').text, 'All of it [1, 2]. And [2, 3].');
    assert.equal(rewrite('Spelled out [Passage 2] and [sources 1–2].').text, 'Spelled out [1] and [1, 2].');
  });

  it('leaves brackets that are not citations alone', () => {
    const text = 'See [the manual](https://example.org) and [sic] or [a] list[] [';
    assert.equal(rewrite(text).text, text);
  });

  it('passes the claim each marker supports to the quote', () => {
    const claims: string[] = [];
    rewriteCitations('Intro sentence. Filters are replaced monthly [1]. The log is in the office [2][1].', options(3, claims));
    assert.deepEqual(claims, ['Filters are replaced monthly', 'The log is in the office']);
  });
});

describe('CitationWriter streaming', () => {
  const answer = '  Filters are replaced monthly [3]. Invalid [9] here. Range [1-2], [Passage 2] done [3, 8].  ';

  it('streams deltas that add up to the final text, however the text is split', () => {
    const whole = rewrite(answer).text;
    assert.equal(whole, 'Filters are replaced monthly [1]. Invalid here. Range [2, 3], [3] done [1].');
    for (const size of [1, 2, 3, 5, 8]) {
      const writer = new CitationWriter(options());
      let streamed = '';
      for (let i = 0; i < answer.length; i += size) streamed += writer.push(answer.slice(i, i + size));
      streamed += writer.end();
      assert.equal(streamed, whole, `chunks of ${size}`);
      assert.equal(writer.text, whole);
    }
  });

  it('holds back a marker until it is complete, and announces its citation first', () => {
    const events: string[] = [];
    const writer = new CitationWriter({ ...options(), onCitation: (c) => events.push(`citation ${c.n}`) });
    const push = (text: string) => {
      const out = writer.push(text);
      if (out) events.push(`text ${JSON.stringify(out)}`);
    };
    push('Monthly [');
    push('2');
    push(']. Next');
    push(' [Pass');
    push('age 9]');
    push(' end ');
    events.push(`text ${JSON.stringify(writer.end())}`);
    assert.deepEqual(events, ['text "Monthly"', 'citation 1', 'text " [1]. Next"', 'text " end"', 'text ""']);
  });

  it('lets an unfinished bracket through at the end', () => {
    const writer = new CitationWriter(options());
    assert.equal(writer.push('Look at [1'), 'Look at');
    assert.equal(writer.end(), ' [1');
  });
});

describe('helpers', () => {
  it('strips markers from earlier answers', () => {
    assert.equal(stripCitationMarkers('Monthly [1]. Logged [2, 3].\nDone [Passage 4].'), 'Monthly. Logged.\nDone.');
  });

  it('tells whether a text cites a shown passage', () => {
    const numbers = shown(2);
    assert.equal(citesShown('Monthly [2].', (n) => numbers.get(n)), true);
    assert.equal(citesShown('Monthly [5].', (n) => numbers.get(n)), false);
    assert.equal(citesShown('Let me search.', (n) => numbers.get(n)), false);
  });
});
