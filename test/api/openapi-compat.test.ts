import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('the OpenAPI document and the OpenAI-compatible API', () => {
  let server: TestServer;
  before(async () => void (server = await startTestServer()));
  after(() => server?.close());

  it('documents /v1/models, /v1/chat/completions and /v1/embeddings, API keys only, with their request schemas', async () => {
    const doc = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
    assert.ok(doc.paths['/v1/models']?.['get']);
    const chat = doc.paths['/v1/chat/completions']?.['post'];
    assert.deepEqual(chat.security, [{ apiKey: [] }]);
    assert.deepEqual(chat.tags, ['OpenAI-compatible']);
    const schema = chat.requestBody.content['application/json'].schema;
    assert.deepEqual([...schema.required].sort(), ['messages', 'model']);
    assert.ok(chat.responses['401'] && chat.responses['429'] && chat.responses['400']);
    assert.deepEqual([...doc.paths['/v1/embeddings']!['post'].requestBody.content['application/json'].schema.required].sort(), ['input', 'model']);
    // The document describes what the server answers: an anonymous call is the 401 it lists.
    assert.equal((await fetch(`${server.url}/v1/models`)).status, 401);
  });
});
