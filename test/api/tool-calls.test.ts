import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScriptedEngine } from '../fixtures/scripted-engine.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type Client, setUp } from '../helpers/client.ts';

// The tool-calling path through the whole stack (HTTP → answer service → agent → router → engine →
// search → SSE). A random-weights model cannot be made to call a tool, so a scripted engine at the
// LLM port does: it asks for one knowledge-base search, then answers citing what it was shown.
// The real local runtime is exercised in llm.test.ts.

describe('tool calls to search_knowledge_base, end to end', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  const engine = new ScriptedEngine({
    name: 'local',
    script: [
      { toolCalls: [{ name: 'search_knowledge_base', arguments: { query: 'generator test schedule', k: 3 } }], usage: { promptTokens: 300, completionTokens: 20 } },
      { text: ['The generator is tested ', 'every Monday at 09:00 [1].'], usage: { promptTokens: 420, completionTokens: 14 } },
    ],
  });
  before(async () => {
    server = await startTestServer({ appliance: { localLlm: engine } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Facilities' })).json.id;
    await owner.upload(kbId, [{ name: 'generator.txt', bytes: 'The backup generator is tested every Monday at 09:00.\n\nFuel is topped up at one quarter.' }]);
    await owner.settle(kbId);
  });
  after(() => server.close());

  it('shows the model’s search as a search event, streams the answer and cites the passage it found', async () => {
    const res = await fetch(`${server.url}/api/v1/kbs/${kbId}/ask`, {
      method: 'POST',
      headers: { cookie: owner.cookie!, origin: server.url, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ question: 'When is the generator tested?' }),
    });
    const events = [...(await res.text()).matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1]!, data: JSON.parse(m[2]!) }));
    const search = events.find((e) => e.event === 'search')!;
    assert.equal(search.data.query, 'generator test schedule', 'the query the model chose');
    assert.equal(search.data.hits > 0, true);
    assert.equal(events.filter((e) => e.event === 'delta').map((e) => e.data.text).join(''), 'The generator is tested every Monday at 09:00 [1].');
    const done = events.at(-1)!.data;
    assert.equal(done.engine.kind, 'local');
    assert.equal(done.citations[0].documentName, 'generator.txt');
    assert.equal(done.usage.llmCalls, 2);
    assert.equal(done.usage.promptTokens, 720);
    // The engine really received the tool and, on its second call, the passage as a tool result.
    assert.ok(engine.requests[0]!.tools?.some((t) => t.name === 'search_knowledge_base'));
    assert.ok(engine.requests[1]!.messages.some((m) => m.role === 'tool' && m.content.includes('every Monday')));
  });
});
