import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScriptedEngine, scriptedGateway, type Script, type ScriptedStep } from '../../test/fixtures/scripted-engine.ts';
import { systemClock } from '../clock.ts';
import { LlmError, type ChatMessage, type GenerateRequest } from '../llm/llm.ts';
import { LlmRouter } from '../llm/router.ts';
import { createLogger } from '../logger.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { answerV2 } from './prompts/answer-v2.ts';
import { testSearch, type TestSearch } from './testing.ts';
import type { LlmPolicy } from '../engines/policy.ts';
import type { AgentEvent, AskInput } from './types.ts';

const TOOL = 'search_knowledge_base';
const search = (query: string, extra: Record<string, unknown> = {}): ScriptedStep => ({ toolCalls: [{ name: TOOL, arguments: { query, ...extra } }] });

/** The number a passage got in the prompt, found by a word of its source line. */
function numberOf(messages: readonly ChatMessage[], source: string): number {
  for (const m of messages) {
    const found = new RegExp(String.raw`<passage n="(\d+)" source="[^"\n]*${source}`).exec(m.content);
    if (found) return Number(found[1]);
  }
  throw new Error(`no passage from ${source} in the prompt`);
}

const deltas = (events: AgentEvent[]) => events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
const types = (events: AgentEvent[]) => [...new Set(events.map((e) => e.type))];

describe('Agent', () => {
  let kb: TestSearch;
  before(async () => {
    kb = await testSearch();
  });
  after(() => kb.close());

  function setup(script: Script, options: Partial<AgentOptions> & { toolCalling?: boolean; kind?: 'local' | 'cloud'; contextSize?: number } = {}) {
    const engine = new ScriptedEngine({ kind: options.kind ?? 'local', model: { toolCalling: options.toolCalling ?? true, contextSize: options.contextSize ?? 8192 }, script });
    let now = 0;
    const clock = { now: () => new Date(now), advance: (ms: number) => (now += ms) };
    const agent = new Agent({ gateway: scriptedGateway([engine]), clock, ...options });
    return { engine, agent, clock };
  }

  async function ask(agent: Agent, question: string, input: Partial<AskInput> & { policy?: LlmPolicy } = {}) {
    const events: AgentEvent[] = [];
    const answer = await agent.ask(input.policy ?? 'local-only', kb.search, { question, history: [], onEvent: (e) => events.push(e), ...input });
    return { answer, events };
  }

  describe('tool-calling path', () => {
    it('searches twice, then answers with citations renumbered in order of appearance', async () => {
      const usage = (promptTokens: number, cachedPromptTokens: number) => ({ usage: { promptTokens, completionTokens: 10, cachedPromptTokens } });
      let clockRef: { advance(ms: number): number } | null = null;
      const { engine, agent, clock } = setup((request, call) => {
        clockRef?.advance(100);
        if (call === 0) return { ...search('how do new patients register'), ...usage(300, 0) };
        if (call === 1) return { ...search('urgent referral letter', { k: 2 }), ...usage(700, 300) };
        const eligibility = numberOf(request.messages, 'Eligibility');
        const waiting = numberOf(request.messages, 'Waiting list');
        return {
          text: ['New patients register at the front desk [', `${eligibility}]. Urgent referrals are triaged`, ` within 48 hours [${waiting}][99].`],
          ...usage(900, 700),
        };
      });
      clockRef = clock;
      const { answer, events } = await ask(agent, 'How do I get a new patient in, and how fast are urgent cases seen?', { sessionKey: 'conv-1' });

      assert.equal(answer.answer, 'New patients register at the front desk [1]. Urgent referrals are triaged within 48 hours [2].');
      assert.equal(deltas(events), answer.answer, 'the streamed text adds up to the answer');
      assert.deepEqual(
        answer.citations.map((c) => [c.n, c.chunkId, c.documentName, c.page]),
        [
          [1, 'intake-1', 'Intake policy', 4],
          [2, 'intake-2', 'Intake policy', 5],
        ],
      );
      assert.match(answer.citations[0]!.quote, /register at the front desk/);
      assert.match(answer.citations[1]!.quote, /within 48 hours/);
      assert.deepEqual(
        events.filter((e) => e.type === 'citation').map((e) => e.type === 'citation' && e.citation),
        answer.citations,
      );
      assert.deepEqual(types(events), ['search', 'citation', 'delta']);
      // A citation is announced before the text that shows its marker.
      events.forEach((e, i) => {
        if (e.type === 'citation') assert.ok(!deltas(events.slice(0, i)).includes(`[${e.citation.n}]`));
      });
      const searches = events.filter((e) => e.type === 'search');
      assert.deepEqual(
        searches.map((e) => e.type === 'search' && [e.query, e.k]),
        [
          ['how do new patients register', 6],
          ['urgent referral letter', 2],
        ],
      );

      // The model saw the first search's passages numbered, and the second search's repeat by number only.
      const [, second, third] = engine.requests;
      const firstResult = second!.messages.at(-1)!;
      assert.equal(firstResult.role, 'tool');
      assert.equal(firstResult.toolCallId, 'call-1-1');
      assert.match(firstResult.content, /^<passage n="1" source="Intake policy › Admissions › Eligibility, page 4" document_id="doc-intake">\nNew patients must register/);
      const secondResult = third!.messages.at(-1)!.content;
      assert.match(secondResult, /<passage n="\d+" source="Intake policy › Admissions › Waiting list, page 5"/);
      assert.match(secondResult, /Also matched, shown above: \[1\]\./);
      assert.ok(engine.requests.every((r) => r.tools?.[0]?.name === TOOL && r.sessionKey === 'conv-1' && r.maxTokens === 512));

      // Every chunk put in front of the model, in the order shown, and usage summed over the calls.
      assert.equal(answer.shownChunkIds[0], 'intake-1');
      assert.ok(!answer.shownChunkIds.includes('intake-copy-1'), 'a second upload of the same page is not shown');
      assert.equal(answer.shownChunkIds.at(-1), 'intake-2');
      assert.equal(new Set(answer.shownChunkIds).size, answer.shownChunkIds.length);
      assert.deepEqual(answer.usage, { promptTokens: 1900, completionTokens: 30, cachedPromptTokens: 1000, searches: 2, llmCalls: 3, firstTokenMs: 300, totalMs: 300 });
      assert.equal(answer.mode, 'generative');
      assert.equal(answer.promptVersion, 'answer-v2');
      assert.deepEqual(answer.engine, { name: 'local', kind: 'local', model: 'local-model', reason: 'policy local-only' });
      assert.equal(answer.sentToCloud, false);
      assert.equal(answer.incomplete, undefined);
    });

    it('answers a search beyond the budget with a tool message, and ends with a round without tools', async () => {
      const { engine, agent } = setup(
        (request, call) => (request.tools ? { toolCalls: [1, 2].map((i) => ({ name: TOOL, arguments: { query: `air filters ${call}.${i}` } })) } : { text: 'The filters are replaced every three months [1].' }),
        {
        limits: { maxSearches: 3 },
      });
      const { answer, events } = await ask(agent, 'How often are the air filters replaced?');
      assert.equal(events.filter((e) => e.type === 'search').length, 3);
      assert.equal(answer.usage.searches, 3);
      // Three rounds with tools (two calls each: searches 1-2, 3 + refused, refused twice) and the final one without.
      assert.equal(engine.requests.length, 5);
      assert.deepEqual(
        engine.requests.map((r) => r.tools !== undefined),
        [true, true, true, true, false],
      );
      const toolReplies = engine.requests[4]!.messages.filter((m) => m.role === 'tool').map((m) => m.content);
      assert.equal(toolReplies.length, 8);
      assert.equal(toolReplies.filter((c) => c === answerV2.budgetSpent).length, 5);
      assert.equal(answer.answer, 'The filters are replaced every three months [1].');
      assert.equal(answer.citations[0]?.chunkId, 'infection-2');
    });

    it('does not stream the text of a round that ends in a tool call', async () => {
      const { agent } = setup([{ text: 'Let me look that up.', ...search('air filters replaced') }, { text: ['The air filters are ', 'replaced every three months [1].'] }]);
      const { answer, events } = await ask(agent, 'How often are the air filters replaced?');
      assert.equal(deltas(events), 'The air filters are replaced every three months [1].');
      assert.equal(answer.answer, deltas(events));
    });

    it('answers without searching when the model does, and handles unknown tools', async () => {
      const { engine, agent } = setup([{ toolCalls: [{ name: 'browse_web', arguments: {} }] }, { text: 'Hello! Ask me about your documents.' }]);
      const { answer } = await ask(agent, 'Hi there');
      assert.equal(answer.answer, 'Hello! Ask me about your documents.');
      assert.deepEqual(answer.citations, []);
      assert.deepEqual(answer.shownChunkIds, []);
      assert.equal(engine.requests[1]!.messages.at(-1)!.content, answerV2.unknownTool('browse_web'));
    });

    it("keeps searches inside the user's document restriction", async () => {
      const { agent } = setup([search('new patients register', { document_ids: ['doc-intake'] }), search('hand rub', { document_ids: ['doc-infection', 'doc-handbook'] }), { text: 'Done.' }]);
      await ask(agent, 'What do the infection rules say?', { documentIds: ['doc-infection'] });
      assert.deepEqual(
        kb.queries.slice(-2).map((q) => q.documentIds),
        [['doc-infection'], ['doc-infection']],
      );
    });

    it('lets the model say the documents do not cover a question', async () => {
      const { engine, agent } = setup([search('parking fee'), { text: 'The documents do not cover parking fees.' }]);
      const { answer } = await ask(agent, 'What is the parking fee?');
      assert.equal(engine.requests[1]!.messages.at(-1)!.content, 'No passages matched this search.');
      assert.equal(answer.answer, 'The documents do not cover parking fees.');
      assert.deepEqual(answer.citations, []);
      assert.deepEqual(answer.shownChunkIds, []);
    });
  });

  describe('retrieval-first path', () => {
    it('searches once, packs the passages before the question and generates once', async () => {
      const { engine, agent } = setup([{ text: ['Registration needs a photo ID and a referral letter [1', '].'] }], { toolCalling: false });
      const { answer, events } = await ask(agent, 'What do new patients need to register?');
      assert.deepEqual(
        events.filter((e) => e.type === 'search'),
        [{ type: 'search', query: 'What do new patients need to register?', documentIds: undefined, k: 6, hits: 4 }],
      );
      const [request] = engine.requests;
      assert.equal(request!.tools, undefined);
      assert.equal(request!.messages.length, 2);
      assert.equal(request!.messages[0]!.content, answerV2.system({ tools: false }));
      const last = request!.messages[1]!.content;
      assert.match(last, /^<passages>\n<passage n="1" source="Intake policy › Admissions › Eligibility, page 4">\nNew patients must register/);
      assert.match(last, /\n\n<question>What do new patients need to register\?<\/question>$/);
      assert.ok(!last.includes('(copy)'), 'the same page uploaded twice is shown once');
      assert.equal(answer.answer, 'Registration needs a photo ID and a referral letter [1].');
      assert.deepEqual(
        answer.citations.map((c) => [c.chunkId, c.quote]),
        // The sentence that supports the claim.
        [['intake-1', '… Registration requires a photo ID and a referral letter from a general practitioner. …']],
      );
      assert.equal(answer.usage.searches, 1);
      assert.equal(answer.usage.llmCalls, 1);
    });

    it('answers "not covered" without calling the model when nothing relevant is found', async () => {
      const { engine, agent } = setup([], { toolCalling: false });
      const { answer, events } = await ask(agent, 'What is the parking fee?');
      assert.equal(engine.requests.length, 0);
      assert.match(answer.answer, /don't seem to cover this/);
      assert.equal(deltas(events), answer.answer);
      assert.equal(answer.mode, 'extractive');
      assert.equal(answer.engine.kind, 'extractive');
      assert.deepEqual(answer.citations, []);
      assert.equal(answer.usage.llmCalls, 0);
    });

    it('lets the model say so instead, when configured to', async () => {
      const { engine, agent } = setup([{ text: 'Your documents do not mention parking fees.' }], { toolCalling: false, answerUnmatchedWithoutModel: false });
      const { answer } = await ask(agent, 'What is the parking fee?');
      assert.match(engine.requests[0]!.messages.at(-1)!.content, /\(no passages found\)\n<\/passages>\n\n<question>What is the parking fee\?<\/question>$/);
      assert.equal(answer.answer, 'Your documents do not mention parking fees.');
      assert.equal(answer.mode, 'generative');
    });

    it('searches a follow-up together with the earlier question', async () => {
      const { agent } = setup([{ text: 'Every three months [1].' }], { toolCalling: false });
      const history = [
        { role: 'user' as const, content: 'Where are the air filters?' },
        { role: 'assistant' as const, content: 'In the ceiling of the treatment rooms [1].' },
      ];
      const { answer, events } = await ask(agent, 'And how often are they replaced?', { history });
      assert.deepEqual(
        events.flatMap((e) => (e.type === 'search' ? [e.query] : [])),
        ['And how often are they replaced? Where are the air filters?'],
      );
      assert.equal(answer.citations[0]?.chunkId, 'infection-2');
    });

    it('fits passages into a small context, leaving room for the answer', async () => {
      const { engine, agent } = setup([{ text: 'Ok.' }], { toolCalling: false, contextSize: 1024 });
      await ask(agent, 'How do new patients register and what do they need?');
      const prompt = engine.requests[0]!.messages.reduce((n, m) => n + engine.countTokens(m.content) + 6, 0);
      assert.ok(prompt + 512 <= 1024, `prompt of ${prompt} tokens leaves no room for the answer`);
      assert.match(engine.requests[0]!.messages.at(-1)!.content, /<passage n="1" source="Intake policy/);
    });
  });

  describe('prompt stability across turns', () => {
    it('repeats the system message and earlier turns byte for byte (tool path)', async () => {
      const { engine, agent } = setup([search('air filters'), { text: 'Every three months [1].' }, search('filter replacement log'), { text: 'In the maintenance register [1].' }]);
      const first = await ask(agent, 'How often are the air filters replaced?', { sessionKey: 's' });
      await ask(agent, 'Where is that logged?', {
        sessionKey: 's',
        history: [
          { role: 'user', content: 'How often are the air filters replaced?' },
          { role: 'assistant', content: first.answer.answer },
        ],
      });
      const turn1 = engine.requests[0]!.messages;
      const turn2 = engine.requests[2]!.messages;
      assert.deepEqual(turn2.slice(0, 2), turn1.slice(0, 2), 'system message and first question');
      assert.deepEqual(turn2[2], { role: 'assistant', content: 'Every three months.' });
      assert.deepEqual(turn2[3], { role: 'user', content: 'Where is that logged?' });
    });

    it('repeats the system message and earlier turns byte for byte (retrieval-first path)', async () => {
      const answers = ['The air filters are replaced every three months [1].', 'Each replacement is logged in the maintenance register [1].', 'By the facilities team [1].'];
      const { engine, agent } = setup(
        answers.map((text) => ({ text })),
        { toolCalling: false },
      );
      const questions = ['How often are the air filters replaced?', 'Where is each air filter replacement logged?', 'Who replaces the air filters?'];
      const history: AskInput['history'] = [];
      for (const question of questions) {
        const { answer } = await ask(agent, question, { history: [...history], sessionKey: 's' });
        history.push({ role: 'user', content: question }, { role: 'assistant', content: answer.answer });
      }
      const [t1, t2, t3] = engine.requests.map((r) => r.messages);
      assert.equal(t2![0]!.content, t1![0]!.content);
      assert.deepEqual(t3!.slice(0, 3), t2!.slice(0, 3), 'system message and the first exchange');
      assert.equal(t3!.length, 6);
    });
  });

  describe('reusing the previous turn as the prompt prefix', () => {
    /** Turn 1's final request and its answer, as the prefix turn 2's requests must start with. */
    const prefixOf = (transcript: ChatMessage[] | undefined) => JSON.stringify(transcript);
    const startsWith = (messages: ChatMessage[], transcript: ChatMessage[] | undefined) => JSON.stringify(messages.slice(0, transcript?.length ?? 0)) === prefixOf(transcript);
    const highest = (messages: readonly ChatMessage[]) => Math.max(...messages.flatMap((m) => (m.role === 'assistant' ? [] : answerV2.passageNumbers(m.content))));

    it('starts turn 2 with turn 1 as sent and generated, numbering new passages after it (tool path)', async () => {
      const { engine, agent } = setup((request, call) => {
        if (call === 0) return search('air filters replaced');
        if (call === 1) return { text: `Every three months [${numberOf(request.messages, 'Air filters')}].` };
        if (call === 2) return search('autoclave sterilised instruments');
        // An old number is in front of the model too, but this answer's citations cover this turn's passages only.
        return { text: `At 134 °C in the autoclave [${numberOf(request.messages, 'Sterilisation')}], unlike the filters [1].` };
      });
      const first = await ask(agent, 'How often are the air filters replaced?', { sessionKey: 's' });
      const transcript = first.answer.transcript!;
      assert.deepEqual(transcript, [...engine.requests[1]!.messages, { role: 'assistant', content: 'Every three months [1].' }]);
      assert.deepEqual(
        transcript.map((m) => m.role),
        ['system', 'user', 'assistant', 'tool', 'assistant'],
      );

      const history: AskInput['history'] = [
        { role: 'user', content: 'How often are the air filters replaced?' },
        { role: 'assistant', content: first.answer.answer },
      ];
      const second = await ask(agent, 'How are instruments sterilised?', { sessionKey: 's', history, priorTranscript: transcript });
      for (const request of engine.requests.slice(2)) assert.ok(startsWith(request.messages, transcript), 'every request of turn 2 starts with turn 1 byte for byte');
      assert.deepEqual(engine.requests[2]!.messages.slice(transcript.length), [{ role: 'user', content: 'How are instruments sterilised?' }]);
      const n = numberOf(engine.requests[3]!.messages.slice(transcript.length), 'Sterilisation');
      assert.equal(n, highest(transcript) + 1, 'new passages continue after the numbers turn 1 used');
      assert.equal(second.answer.answer, 'At 134 °C in the autoclave [1], unlike the filters.');
      assert.deepEqual(
        second.answer.citations.map((c) => [c.n, c.chunkId]),
        [[1, 'infection-3']],
      );
      assert.deepEqual(second.answer.shownChunkIds, ['infection-3']);
      // Turn 3 repeats turn 2's transcript in turn, which holds turn 1's.
      assert.ok(startsWith(second.answer.transcript!, transcript));
      assert.equal(second.answer.transcript!.at(-1)!.content, `At 134 °C in the autoclave [${n}], unlike the filters [1].`);
    });

    it('starts turn 2 with turn 1 as sent and generated (retrieval-first path)', async () => {
      const { engine, agent } = setup(
        (request, call) => ({ text: call === 0 ? `Every three months [${numberOf(request.messages, 'Air filters')}].` : `New patients need a photo ID [${numberOf(request.messages.slice(2), 'Eligibility')}].` }),
        { toolCalling: false },
      );
      const first = await ask(agent, 'How often are the air filters replaced?', { sessionKey: 's' });
      const transcript = first.answer.transcript!;
      assert.deepEqual(transcript, [...engine.requests[0]!.messages, { role: 'assistant', content: first.answer.answer }]);
      const history: AskInput['history'] = [
        { role: 'user', content: 'How often are the air filters replaced?' },
        { role: 'assistant', content: first.answer.answer },
      ];
      const second = await ask(agent, 'What do new patients need to register?', { sessionKey: 's', history, priorTranscript: transcript });
      const turn2 = engine.requests[1]!.messages;
      assert.ok(startsWith(turn2, transcript));
      assert.equal(turn2.length, transcript.length + 1);
      assert.match(turn2.at(-1)!.content, new RegExp(String.raw`^<passages>\n<passage n="${highest(transcript) + 1}" source="Intake policy › Admissions › Eligibility`));
      assert.equal(second.answer.answer, 'New patients need a photo ID [1].');
      assert.deepEqual(
        second.answer.citations.map((c) => [c.n, c.chunkId]),
        [[1, 'intake-1']],
      );
    });

    it('falls back to the condensed history when the transcript leaves too little room, or could reach a cloud engine', async () => {
      const question = 'What do new patients need to register?';
      const history: AskInput['history'] = [
        { role: 'user', content: 'How often are the air filters replaced?' },
        { role: 'assistant', content: 'Every three months [1].' },
      ];
      const condensed = [
        { role: 'user', content: 'How often are the air filters replaced?' },
        { role: 'assistant', content: 'Every three months.' },
      ];
      const system = { role: 'system' as const, content: answerV2.system({ tools: false }) };
      const long = (tokens: number): ChatMessage[] => [system, { role: 'user', content: `${'Passage text. '.repeat(tokens / 3.5)}\n\n<question>${history[0]!.content}</question>` }, { role: 'assistant', content: 'Every three months [1].' }];

      const fits = setup([{ text: 'A photo ID [1].' }], { toolCalling: false, contextSize: 2048 });
      await ask(fits.agent, question, { history, priorTranscript: long(200) });
      assert.deepEqual(fits.engine.requests[0]!.messages.slice(0, 3), long(200), 'a short transcript is reused');

      const over = setup([{ text: 'A photo ID [1].' }], { toolCalling: false, contextSize: 2048 });
      const { answer } = await ask(over.agent, question, { history, priorTranscript: long(600) });
      const messages = over.engine.requests[0]!.messages;
      assert.deepEqual(messages.slice(0, 3), [system, ...condensed]);
      assert.match(messages[3]!.content, /^<passages>\n<passage n="1" source="Intake policy/);
      assert.equal(answer.citations[0]?.chunkId, 'intake-1');
      // The next turn repeats this one, condensed history and all.
      assert.deepEqual(answer.transcript, [...messages, { role: 'assistant', content: 'A photo ID [1].' }]);

      const local = new ScriptedEngine({ kind: 'local', model: { toolCalling: false }, script: [{ text: 'A photo ID [1].' }] });
      const cloud = new ScriptedEngine({ kind: 'cloud', name: 'cloud:test', model: { toolCalling: false }, script: [] });
      const mixed = new Agent({ gateway: scriptedGateway([local, cloud]) });
      await ask(mixed, question, { history, priorTranscript: long(200), policy: 'local-then-cloud' });
      assert.deepEqual(local.requests[0]!.messages.slice(0, 3), [system, ...condensed], 'earlier passages never go where a cloud engine may get them');

      const tools = setup([search('register'), { text: 'A photo ID [1].' }], { contextSize: 2048 });
      await ask(tools.agent, question, { history, priorTranscript: long(200) });
      assert.deepEqual(tools.engine.requests[0]!.messages.slice(1, 3), condensed, 'a transcript under another system message is not reused');
    });
  });

  describe('extractive answers', () => {
    it('quotes the best passages, deduplicated and cited, when no LLM is installed', async () => {
      const agent = new Agent({ gateway: scriptedGateway([]) });
      const { answer, events } = await ask(agent, 'What does a new patient need to register?');
      assert.equal(answer.mode, 'extractive');
      assert.deepEqual(answer.engine, { name: 'extractive', kind: 'extractive', model: null, reason: 'no LLM installed' });
      assert.equal(answer.promptVersion, 'extractive-v1');
      const [intro, list] = answer.answer.split('\n\n');
      assert.equal(intro, 'No language model is available, so here are the most relevant passages from your documents:');
      const lines = list!.split('\n');
      assert.match(lines[0]!, /^1\. “New patients must register at the front desk before their first appointment\. Registration requires a photo ID and a referral letter from a general practitioner\.[^”]*” — Intake policy › Eligibility, page 4 \[1\]$/);
      assert.ok(!answer.answer.includes('(copy)'), 'the second upload of the same page is not quoted again');
      assert.equal(answer.citations.length, lines.length);
      assert.deepEqual(
        answer.citations.map((c) => c.n),
        lines.map((_, i) => i + 1),
      );
      assert.deepEqual(answer.shownChunkIds, answer.citations.map((c) => c.chunkId));
      assert.equal(deltas(events), answer.answer);
      assert.equal(answer.usage.firstTokenMs, null);
      assert.equal(answer.usage.llmCalls, 0);
    });

    it('says which policy rules the installed engines out', async () => {
      const cloud = new ScriptedEngine({ kind: 'cloud', name: 'cloud:test', script: [] });
      const agent = new Agent({ gateway: scriptedGateway([cloud]) });
      const { answer } = await ask(agent, 'How often are the air filters replaced?', { policy: 'local-only' });
      assert.equal(answer.engine.reason, 'policy local-only allows no installed LLM');
      assert.equal(cloud.requests.length, 0);
      assert.equal(answer.sentToCloud, false);
    });

    it('says so when no passage matches', async () => {
      const agent = new Agent({ gateway: scriptedGateway([]) });
      const { answer } = await ask(agent, 'What is the parking fee?');
      assert.equal(answer.answer, 'No language model is available, and no passage in your documents matches this question.');
      assert.deepEqual(answer.citations, []);
    });

    it('falls back to passages when every allowed engine fails before streaming', async () => {
      const local = new ScriptedEngine({ kind: 'local', script: [{ error: new LlmError('unavailable', 'local', 'model file missing') }] });
      const cloud = new ScriptedEngine({ kind: 'cloud', name: 'cloud:test', script: [{ error: new LlmError('timeout', 'cloud:test', 'no first token in 10 s') }] });
      const agent = new Agent({ gateway: scriptedGateway([local, cloud]) });
      const { answer } = await ask(agent, 'How often are the air filters replaced?', { policy: 'local-then-cloud' });
      assert.equal(answer.mode, 'extractive');
      assert.equal(answer.engine.reason, 'every allowed LLM failed: no first token in 10 s');
      assert.match(answer.answer, /^The language model could not answer just now, so here are the most relevant passages from your documents:\n\n1\. “[^”]*replaced every three months[^”]*” — Infection control › Air filters, page 7 \[1\]/);
      // The cloud engine was allowed and may have received the prompt before failing.
      assert.equal(answer.sentToCloud, true);
    });

    it('names each failure when the policy router reports them all', async () => {
      const local = new ScriptedEngine({ kind: 'local', script: [{ error: new LlmError('unavailable', 'local', 'queue full') }] });
      const cloud = new ScriptedEngine({ kind: 'cloud', name: 'cloud:test', script: [{ error: new LlmError('timeout', 'cloud:test', 'no first token') }] });
      const router = new LlmRouter({ local, cloud: [cloud], log: createLogger({ level: 'silent' }), clock: systemClock });
      const { answer } = await ask(new Agent({ gateway: router }), 'How often are the air filters replaced?', { policy: 'cloud-first' });
      assert.equal(answer.engine.reason, 'every allowed LLM failed: cloud:test: no first token; local: queue full');
      assert.equal(answer.citations[0]?.chunkId, 'infection-2');
    });

    it('says the request was refused when the engine calls it invalid', async () => {
      const { agent } = setup([{ error: new LlmError('invalid', 'local', 'prompt exceeds the context') }], { toolCalling: false });
      const { answer } = await ask(agent, 'How often are the air filters replaced?');
      assert.equal(answer.mode, 'extractive');
      assert.equal(answer.engine.reason, 'the LLM refused the request: prompt exceeds the context');
    });

    it('falls back to passages when the engine fails midway through the tool loop, quoting what it found', async () => {
      const { agent } = setup([search('autoclave temperature'), { error: new LlmError('unavailable', 'local', 'crashed') }]);
      const { answer } = await ask(agent, 'How are instruments sterilised?');
      assert.equal(answer.mode, 'extractive');
      assert.equal(answer.engine.reason, 'every allowed LLM failed: crashed');
      assert.equal(answer.citations[0]?.chunkId, 'infection-3');
      assert.equal(answer.usage.llmCalls, 1);
      assert.equal(answer.sentToCloud, false);
    });

    it('says plainly when the documents do not cover the question, offering the closest passages as related (#13)', async () => {
      const agent = new Agent({ gateway: scriptedGateway([]) });
      const { answer, events } = await ask(agent, 'What is the staff parking policy?');
      assert.equal(answer.notCovered, true);
      assert.equal(answer.answer, "Your documents don't cover that.");
      assert.equal(deltas(events), answer.answer);
      assert.deepEqual(answer.citations, []);
      assert.ok(!events.some((e) => e.type === 'citation'), 'related passages are not cited');
      assert.ok((answer.related?.length ?? 0) > 0, 'the closest passages are offered');
      assert.deepEqual(answer.shownChunkIds, answer.related?.map((c) => c.chunkId), 'what was quoted is in the audit');

      const covered = await ask(agent, 'Where do new patients register?');
      assert.equal(covered.answer.notCovered, undefined);
      assert.ok(covered.answer.citations.length > 0);
    });

    it('searches the condensed question first for a follow-up', async () => {
      const agent = new Agent({ gateway: scriptedGateway([]) });
      const history = [
        { role: 'user' as const, content: 'Tell me about the air filters.' },
        { role: 'assistant' as const, content: 'They are in the treatment rooms.' },
      ];
      const { answer, events } = await ask(agent, 'How often?', { history });
      assert.deepEqual(
        events.flatMap((e) => (e.type === 'search' ? [e.query] : [])),
        ['How often? Tell me about the air filters.', 'How often?'],
      );
      assert.equal(answer.citations[0]?.chunkId, 'infection-2');
    });
  });

  describe("the model's own judgement (#13)", () => {
    it('an answer citing none of the passages shown says the documents do not cover the question', async () => {
      const { agent } = setup([{ text: 'The documents do not cover parking.' }], { toolCalling: false });
      const { answer } = await ask(agent, 'Where do new patients park when they register?');
      assert.equal(answer.mode, 'generative');
      assert.equal(answer.notCovered, true);
      assert.equal(answer.answer, 'The documents do not cover parking.');
      assert.ok((answer.related?.length ?? 0) > 0 && (answer.related?.length ?? 0) <= 3, 'the passages it was shown are offered as related');

      const cited = setup((request) => ({ text: `Register at the front desk [${numberOf(request.messages, 'Eligibility')}].` }), { toolCalling: false });
      const { answer: answered } = await ask(cited.agent, 'Where do new patients register?');
      assert.equal(answered.notCovered, undefined);
      assert.equal(answered.citations.length, 1);
    });
  });

  describe('engines', () => {
    it('reports a cloud engine that served, and why it was chosen', async () => {
      const local = new ScriptedEngine({ kind: 'local', script: [{ error: new LlmError('unavailable', 'local', 'queue full') }] });
      const cloud = new ScriptedEngine({ kind: 'cloud', name: 'cloud:test', model: { toolCalling: false }, script: [{ text: 'Every three months [1].' }] });
      const agent = new Agent({ gateway: scriptedGateway([local, cloud]) });
      const { answer } = await ask(agent, 'How often are the air filters replaced?', { policy: 'local-then-cloud' });
      assert.equal(answer.sentToCloud, true);
      assert.deepEqual(answer.engine, { name: 'cloud:test', kind: 'cloud', model: 'cloud:test-model', reason: 'local unavailable: queue full; fell back to cloud:test' });
    });

    it('keeps a streamed answer whose engine failed midway, marked interrupted', async () => {
      const { agent } = setup([{ text: ['The filters are replaced ', 'every three months [1]. They'], error: new LlmError('unavailable', 'local', 'connection reset') }], { toolCalling: false });
      const { answer, events } = await ask(agent, 'How often are the air filters replaced?');
      assert.equal(answer.answer, 'The filters are replaced every three months [1]. They');
      assert.equal(deltas(events), answer.answer);
      assert.equal(answer.incomplete, 'interrupted');
      assert.equal(answer.engine.name, 'local');
      assert.match(answer.engine.reason, /interrupted: connection reset/);
      assert.equal(answer.citations.length, 1);
    });

    it('marks an answer cut by the token limit', async () => {
      const { agent } = setup([{ text: 'The filters are replaced every', finishReason: 'length' }], { toolCalling: false });
      const { answer } = await ask(agent, 'How often are the air filters replaced?');
      assert.equal(answer.incomplete, 'length');
    });
  });

  describe('abort', () => {
    it('rejects promptly with the reason while the engine is generating, and emits nothing after', async () => {
      const controller = new AbortController();
      const { agent } = setup([{ text: 'The filters', hang: true }], { toolCalling: false });
      const events: AgentEvent[] = [];
      const reason = new Error('client went away');
      const asking = agent.ask('local-only', kb.search, {
        question: 'How often are the air filters replaced?',
        history: [],
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'delta') controller.abort(reason);
        },
      });
      await assert.rejects(asking, (err) => err === reason);
      assert.equal(events.filter((e) => e.type === 'delta').length, 1);
    });

    it('rejects even when the search ignores the signal', async () => {
      const controller = new AbortController();
      const { agent } = setup([], { toolCalling: false });
      const stuck = () => new Promise<never>(() => {});
      const asking = agent.ask('local-only', stuck, { question: 'Anything', history: [], signal: controller.signal });
      setImmediate(() => controller.abort(new Error('stop')));
      await assert.rejects(asking, /stop/);
    });

    it('rejects at once when already aborted', async () => {
      const { engine, agent } = setup([]);
      await assert.rejects(agent.ask('local-only', kb.search, { question: 'Anything', history: [], signal: AbortSignal.abort(new Error('gone')) }), /gone/);
      assert.equal(engine.requests.length, 0);
    });

    it('passes the signal to the engine', async () => {
      const controller = new AbortController();
      let seen: GenerateRequest['signal'];
      const { agent } = setup((request) => {
        seen = request.signal;
        return { text: 'Ok.' };
      });
      await ask(agent, 'Hi', { signal: controller.signal });
      assert.equal(seen, controller.signal);
    });
  });
});
