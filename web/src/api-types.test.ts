import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

// The console's answer types are inferred from the response schemas the server parses every answer
// by (api-types.ts), so they can neither claim a field the server strips nor miss one it sends; tsc
// checks the inference. These check that no answer type is written by hand beside it again.
const read = (name: string) => readFile(new URL(name, import.meta.url), 'utf8');

/** Names api-types.ts exports: its own aliases and what it re-exports from the server. */
function exportedTypes(source: string): Set<string> {
  const own = [...source.matchAll(/^export type (\w+)/gm)].map((m) => m[1] ?? '');
  const reexported = [...source.matchAll(/^export type \{([^}]+)\} from/gm)].flatMap((m) => (m[1] ?? '').split(',').map((name) => name.trim().split(/\s+as\s+/).at(-1) ?? ''));
  return new Set([...own, ...reexported]);
}

test('every answer the client reads is typed by a name api-types.ts infers from a server schema', async () => {
  const [client, wire] = await Promise.all([read('./api.ts'), read('./api-types.ts')]);
  const inferred = exportedTypes(wire);
  const answers = [...client.matchAll(/(?<!function )\brequest<([^>]+)>\(/g), ...client.matchAll(/payload as (\w+)\)/g)].map((m) => m[1] ?? '');
  assert.ok(answers.length >= 40, `found only ${answers.length} calls: has request() changed its shape?`);
  assert.deepEqual(
    answers.filter((type) => type !== 'void' && !inferred.has(type)),
    [],
    'type these answers in api-types.ts as Wire<typeof TheRouteSchema>, not by hand',
  );
});

test('api-types.ts declares no shape of its own and takes only types from the server', async () => {
  const wire = await read('./api-types.ts');
  assert.doesNotMatch(wire, /^\s*(export )?interface /m, 'an interface is a hand-written shape');
  assert.doesNotMatch(wire, /^(export )?type \w+ = \{/m, 'an object type is a hand-written shape');
  // A value import would put the server (and zod) into the console's bundle.
  const fromServer = [...wire.matchAll(/^(import|export)\b[^;]*?from '\.\.\/\.\.\/server\/[^']+';/gms)].map((m) => m[0]);
  assert.ok(fromServer.length > 10);
  assert.deepEqual(
    fromServer.filter((statement) => !/^(import|export) type /.test(statement)),
    [],
  );
});
