// WCAG AA contrast of the colour tokens, read from tokens.css itself (light, and dark on top of
// light as the browser applies it): text 4.5:1 on the surfaces it is used on, control edges, the
// focus ring and status marks 3:1 (WCAG 1.4.11).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const css = readFileSync(path.join(import.meta.dirname, 'tokens.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

/** The custom properties declared directly in `block` (the body of a `:root { … }`). */
function declarations(block: string): Map<string, string> {
  return new Map([...block.matchAll(/(--[a-z0-9-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}

function rootBlock(from: number): string {
  const start = css.indexOf(':root', from);
  const open = css.indexOf('{', start);
  return css.slice(open + 1, css.indexOf('}', open));
}

const light = declarations(rootBlock(0));
const darkAt = css.indexOf('@media (prefers-color-scheme: dark)');
const dark = new Map([...light, ...declarations(rootBlock(darkAt))]);
const themes = { light, dark };

function rgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const n = Number.parseInt(m[1]!, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const luminance = (hex: string) => {
  const [r, g, b] = rgb(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

// [foreground, background, minimum ratio]: pairs the rules actually draw.
const pairs: Array<[string, string, number]> = [
  ...['bg', 'surface', 'surface-sunken', 'surface-inset', 'surface-hover'].flatMap((s): Array<[string, string, number]> => [
    ['text', s, 4.5],
    ['text-muted', s, 4.5],
    ['accent', s, 4.5], // links, accent text and outline buttons
    ['danger', s, 4.5], // field errors, "failed" counts
  ]),
  ['on-accent', 'accent', 4.5],
  ['on-accent', 'accent-hover', 4.5],
  ['on-danger', 'danger', 4.5],
  ['on-danger', 'danger-hover', 4.5],
  ['accent-text', 'accent-subtle', 4.5],
  ['accent-text', 'accent-soft', 4.5],
  ['accent', 'accent-subtle', 4.5], // a pressed toggle
  ['text', 'accent-subtle', 4.5], // the current conversation
  ['danger-text', 'danger-subtle', 4.5],
  ['danger-text', 'danger-soft', 4.5],
  ['success-text', 'success-subtle', 4.5],
  ['warning-text', 'warning-subtle', 4.5],
  ['text', 'neutral-subtle', 4.5],
  ['text', 'highlight', 4.5],
  ['text', 'highlight-strong', 4.5],
  ['text', 'question', 4.5],
  ['topbar-text', 'topbar', 4.5],
  ['topbar-link', 'topbar', 4.5],
  ['topbar-muted', 'topbar', 4.5],
  ['topbar-text-strong', 'topbar-hover', 4.5],
  ['topbar-text-strong', 'topbar-current', 4.5],
  ['topbar-text-strong', 'avatar', 4.5],
  ['border-strong', 'surface', 3],
  ['border-strong', 'bg', 3],
  ['focus', 'bg', 3],
  ['focus', 'surface', 3],
  ['topbar-focus', 'topbar', 3],
  ['success', 'surface', 3],
  ['warning', 'surface', 3],
  ['warning', 'warning-subtle', 3],
  ...['1', '2', '3', '4'].map((n): [string, string, number] => [`chart-${n}`, 'surface', 3]),
];

for (const [name, tokens] of Object.entries(themes)) {
  test(`${name} theme: text and controls meet WCAG AA contrast`, () => {
    const failures: string[] = [];
    for (const [fg, bg, min] of pairs) {
      const f = tokens.get(`--color-${fg}`);
      const b = tokens.get(`--color-${bg}`);
      assert.ok(f && b, `--color-${fg} and --color-${bg} are defined`);
      const ratio = contrast(f, b);
      if (ratio < min) failures.push(`${fg} ${f} on ${bg} ${b}: ${ratio.toFixed(2)} < ${min}`);
    }
    assert.deepEqual(failures, []);
  });
}

test('the dark theme sets every colour the light theme does', () => {
  const lightColours = [...light.keys()].filter((k) => k.startsWith('--color-'));
  const darkOwn = declarations(rootBlock(darkAt));
  // The top bar's text, links and focus ring are the same on the dark bar in both themes.
  const shared = new Set(['--color-topbar-text', '--color-topbar-text-strong', '--color-topbar-link', '--color-topbar-muted', '--color-topbar-border', '--color-topbar-focus', '--color-avatar']);
  assert.deepEqual(lightColours.filter((k) => !darkOwn.has(k) && !shared.has(k)), []);
});

test('contrast() agrees with known ratios', () => {
  assert.equal(contrast('#000000', '#ffffff').toFixed(2), '21.00');
  assert.equal(contrast('#777777', '#ffffff').toFixed(2), '4.48');
});
