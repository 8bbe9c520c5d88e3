// Builds the web console into web/dist: one JS and one CSS bundle plus an index.html whose asset
// URLs carry a content hash, so browsers may cache /assets/* hard yet pick up every new build.
// Code the app loads with import() (the voice panel) is split into chunks named by their content
// hash (/assets/voice-live-<hash>.js, chunk-<hash>.js for code shared with the main bundle), so
// they are cached the same way and app.js's own hash changes whenever one of them does.
// Audio worklets (web/src/worklets/*.ts) are bundles of their own, since audioWorklet.addModule
// loads a script by URL; the app learns their hashed URLs through the LECTERN_WORKLETS constant.
// Usage: node scripts/build-web.ts
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const root = path.resolve(import.meta.dirname, '..');
const webDir = path.join(root, 'web');
const distDir = path.join(webDir, 'dist');
const assetsDir = path.join(distDir, 'assets');

const started = performance.now();

const shared = {
  absWorkingDir: root,
  outdir: assetsDir,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target: 'es2022',
  format: 'esm',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  charset: 'utf8',
  write: false,
  logLevel: 'warning',
} satisfies esbuild.BuildOptions;

const hashOf = (contents: Uint8Array) => createHash('sha256').update(contents).digest('hex').slice(0, 12);

// web/src/worklets/capture.ts → /assets/capture-worklet.js (tests beside them are not worklets).
const workletNames = (await readdir(path.join(webDir, 'src', 'worklets')))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
  .map((file) => file.slice(0, -'.ts'.length));

let worklets: esbuild.BuildResult<{ write: false }>;
let result: esbuild.BuildResult<{ write: false; metafile: true }>;
try {
  worklets = await esbuild.build({
    ...shared,
    entryPoints: workletNames.map((name) => ({ in: `web/src/worklets/${name}.ts`, out: `${name}-worklet` })),
  });
  const workletUrls = Object.fromEntries(
    workletNames.map((name) => {
      const file = worklets.outputFiles.find((f) => path.relative(assetsDir, f.path) === `${name}-worklet.js`);
      if (!file) throw new Error(`build-web: esbuild produced no ${name}-worklet.js`);
      return [name, `/assets/${name}-worklet.js?v=${hashOf(file.contents)}`];
    }),
  );
  result = await esbuild.build({
    ...shared,
    entryPoints: [
      { in: 'web/src/main.tsx', out: 'app' },
      { in: 'web/src/styles.css', out: 'app' },
    ],
    define: { LECTERN_WORKLETS: JSON.stringify(workletUrls) },
    splitting: true,
    chunkNames: '[name]-[hash]',
    metafile: true,
  });
} catch (err) {
  // esbuild has already printed its errors with file and line; anything else is ours.
  if (!(err instanceof Error && 'errors' in err)) console.error(err);
  console.error('build-web: failed');
  process.exit(1);
}

const outputs = new Map([...worklets.outputFiles, ...result.outputFiles].map((file) => [path.relative(assetsDir, file.path), file.contents]));
const hash = (name: string) => {
  const contents = outputs.get(name);
  if (!contents) throw new Error(`build-web: esbuild produced no ${name}`);
  return hashOf(contents);
};

// CSS imported by a lazily loaded module would become a chunk nothing links to: it must come in
// through styles.css (or code in the main bundle).
const strayCss = [...outputs.keys()].filter((name) => name.endsWith('.css') && name !== 'app.css');
if (strayCss.length > 0) {
  console.error(`build-web: CSS outside app.css would never load: ${strayCss.join(', ')}`);
  process.exit(1);
}

let html = await readFile(path.join(webDir, 'index.html'), 'utf8');
for (const asset of ['app.js', 'app.css']) {
  const ref = `"/assets/${asset}"`;
  if (!html.includes(ref)) {
    console.error(`build-web: web/index.html does not reference ${ref}`);
    process.exit(1);
  }
  html = html.replace(ref, `"/assets/${asset}?v=${hash(asset)}"`);
}

// Start from an empty dist so files from older builds are never served.
await rm(distDir, { recursive: true, force: true });
await mkdir(assetsDir, { recursive: true });
await Promise.all([
  ...[...outputs].map(([name, contents]) => writeFile(path.join(assetsDir, name), contents)),
  writeFile(path.join(distDir, 'index.html'), html),
  copyFile(path.join(webDir, 'favicon.svg'), path.join(distDir, 'favicon.svg')),
]);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const gzipped = (name: string) => gzipSync(outputs.get(name) ?? new Uint8Array()).length;
const size = (name: string) => `${name} ${kb(outputs.get(name)?.length ?? 0)} (${kb(gzipped(name))} gzip)`;
// What a page load fetches: app.js and the chunks it imports statically; the rest waits for import().
const relative = (output: string) => path.relative(assetsDir, path.join(root, output));
const imports = new Map(Object.entries(result.metafile.outputs).map(([output, meta]) => [relative(output), meta.imports]));
const initial = new Set<string>();
const visit = (name: string) => {
  if (initial.has(name)) return;
  initial.add(name);
  for (const i of imports.get(name) ?? []) if (i.kind === 'import-statement') visit(relative(i.path));
};
visit('app.js');
const lazy = [...imports.keys()].filter((name) => name.endsWith('.js') && !initial.has(name));
const total = (names: Iterable<string>) => [...names].reduce((sum, name) => sum + gzipped(name), 0);
const sizes = [
  `${size('app.js')}, on load ${kb(total(initial))} gzip in ${initial.size} file${initial.size === 1 ? '' : 's'}`,
  `loaded later ${kb(total(lazy))} gzip (${lazy.map(size).join(', ') || 'nothing'})`,
  size('app.css'),
  ...workletNames.map((name) => size(`${name}-worklet.js`)),
];
console.log(`build-web: ${sizes.join(', ')} → web/dist in ${Math.round(performance.now() - started)} ms`);
