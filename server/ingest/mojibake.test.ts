import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repairMojibake } from './mojibake.ts';

/** What a UTF-8 text looks like after being read as Windows-1252 and saved as UTF-8 again. */
const mangle = (text: string) => new TextDecoder('windows-1252').decode(new TextEncoder().encode(text));

describe('repairMojibake', () => {
  it('repairs UTF-8 that was read as Windows-1252 and saved again', () => {
    for (const original of ['Søknad om plass på sykehjem', 'Café crème brûlée', 'Don’t touch “this” – ever…', 'Größe: 30 °C, 5 µg', 'Ελληνικά και русский', 'emoji 🙂 too']) {
      const mangled = mangle(original);
      assert.notEqual(mangled, original);
      assert.equal(repairMojibake(mangled), original, mangled);
    }
    assert.equal(repairMojibake('SÃ¸knad om plass pÃ¥ sykehjem'), 'Søknad om plass på sykehjem');
  });

  it('leaves real accented text alone, and says when there was nothing to repair', () => {
    for (const text of ['Søknad om plass', 'à… voilà', 'Äö Ü ß', 'naïve façade', 'plain ASCII', 'Â« guillemets Â»'.replaceAll('Â', '')]) assert.equal(repairMojibake(text), null, text);
  });

  it('repairs the mangled part of a text that also has real accents', () => {
    assert.equal(repairMojibake('Æble og SÃ¸ren'), 'Æble og Søren');
  });
});

describe('mojibake in documents', () => {
  it('is repaired in a document of any format, and the repair is noted on it', async () => {
    const { parseDocument } = await import('./parse.ts');
    const { testLimits, docx, para } = await import('./testing.ts');
    const text = 'Søknad om plass på sykehjem\n\nBesøkstid er fra kl. 12–18.\n\nPlain line.\n';
    const parsed = await parseDocument({ bytes: new TextEncoder().encode(mangle(text)), filename: 'soknad.txt' }, testLimits());
    assert.deepEqual(parsed.blocks.map((b) => b.text), ['Søknad om plass på sykehjem', 'Besøkstid er fra kl. 12–18.', 'Plain line.']);
    assert.deepEqual(parsed.warnings, ['Repaired double-encoded characters (such as “Ã¸” for “ø”) in 2 passages: the text had been read in the wrong encoding before it was saved']);
    const word = await parseDocument({ bytes: docx(para(mangle('Smørbrød'))), filename: 'x.docx' }, testLimits());
    assert.equal(word.blocks[0]?.text, 'Smørbrød');
    const clean = await parseDocument({ bytes: new TextEncoder().encode('Smørbrød og kaffe\n'), filename: 'y.txt' }, testLimits());
    assert.deepEqual(clean.warnings, []);
  });
});
