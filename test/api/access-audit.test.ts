import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp, type Reply } from '../helpers/client.ts';

// The access audit (#10, control 6): reads, downloads and changes of documents, knowledge bases,
// settings and other people's conversations each leave one entry naming who, from where and what;
// the listing filters and pages them, and exports them as CSV or JSON Lines.

const PW = 'a sufficiently long password';

/** A client behind the one trusted proxy (TRUST_PROXY=1): every request comes from `ip`. */
class ProxiedClient extends Client {
  readonly ip: string;
  constructor(base: string, ip: string, from?: Client) {
    super(base);
    this.ip = ip;
    this.cookie = from?.cookie ?? null;
  }
  override request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return super.request(method, path, body, { 'x-forwarded-for': this.ip, ...headers });
  }
  async signIn(email: string): Promise<this> {
    const r = await this.post('/api/v1/auth/login', { email, password: PW });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    return this;
  }
}

interface Entry {
  id: string;
  at: string;
  action: string;
  outcome: string;
  actor: { type: string; id: string | null; name: string | null };
  target: { type: string; id: string; name: string | null } | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

/** Every entry a filter selects, following the cursor page by page. */
async function all(c: Client, query = '', limit = 500): Promise<Entry[]> {
  const entries: Entry[] = [];
  let before: string | null = null;
  for (;;) {
    const r = await c.get(`/api/v1/audit?limit=${limit}${query ? `&${query}` : ''}${before ? `&before=${encodeURIComponent(before)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    entries.push(...(r.json.entries as Entry[]));
    before = r.json.nextCursor;
    if (!before) return entries;
  }
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; records end with CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text[i + 1] === '"') cell += text[++i];
      else quoted = false;
    } else if (ch === '"') {
      assert.equal(cell, '', 'a quote only opens a field');
      quoted = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      [row, cell] = [[], ''];
      i++;
    } else {
      assert.ok(ch !== '\n' && ch !== '\r', 'line breaks only appear inside quotes');
      cell += ch;
    }
  }
  assert.ok(!quoted && cell === '' && row.length === 0, 'the last record ends with CRLF');
  return rows;
}

describe('access audit', () => {
  let server: TestServer;
  let owner: Client;
  let admin: ProxiedClient;
  let editor: ProxiedClient;
  let viewer: ProxiedClient;
  let ids: { owner: string; admin: string; editor: string; viewer: string };
  let kbId: string;
  let docs: Array<{ id: string; name: string }>;

  const one = async (action: string, targetId: string): Promise<Entry> => {
    const found = (await all(owner, `action=${action}`)).filter((e) => e.target?.id === targetId);
    assert.equal(found.length, 1, `exactly one ${action} of ${targetId}: ${JSON.stringify(found)}`);
    return found[0] as Entry;
  };

  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: '1' } });
    const s = await setUp(server.url);
    owner = s.owner;
    ids = { owner: s.setup.json.user.id, admin: '', editor: '', viewer: '' };
    for (const role of ['admin', 'editor', 'viewer'] as const) {
      const r = await owner.post('/api/v1/users', { email: `${role}@riverside.test`, name: `${role[0]?.toUpperCase()}${role.slice(1)} Person`, role, password: PW });
      ids[role] = r.json.user.id;
    }
    admin = await new ProxiedClient(server.url, '198.51.100.1').signIn('admin@riverside.test');
    editor = await new ProxiedClient(server.url, '203.0.113.7').signIn('editor@riverside.test');
    viewer = await new ProxiedClient(server.url, '192.0.2.55').signIn('viewer@riverside.test');

    kbId = (await editor.post('/api/v1/kbs', { name: 'Policies' })).json.id;
    const form = new FormData();
    form.append('files', new Blob(['Visitors must sign in at reception.\n\nAll visitors wear a badge.']), 'visitors.txt');
    form.append('files', new Blob(['Fire doors stay closed.\n\nThe assembly point is the car park.']), 'fire, "safety".txt');
    // The same content again in one request: a duplicate, which creates nothing.
    form.append('files', new Blob(['Visitors must sign in at reception.\n\nAll visitors wear a badge.']), 'visitors again.txt');
    const up = await editor.request('POST', `/api/v1/kbs/${kbId}/documents`, form);
    assert.equal(up.status, 202, up.text);
    docs = (up.json.documents as Array<{ id: string; name: string; duplicate: boolean }>).filter((d) => !d.duplicate);
    assert.equal(docs.length, 2);
    await editor.settle(kbId);
  });
  after(() => server.close());

  it('records each document and knowledge-base action once, with actor, address and target', async () => {
    for (const doc of docs) {
      const e = await one('document.create', doc.id);
      assert.deepEqual([e.actor.type, e.actor.id, e.ip, e.target?.type, e.target?.name], ['user', ids.editor, '203.0.113.7', 'document', doc.name]);
      assert.equal(e.details?.['kbId'], kbId);
    }
    assert.equal((await all(owner, 'action=document.create')).length, 2, 'the duplicate created nothing and left no entry');
    const created = await one('kb.create', kbId);
    assert.deepEqual([created.actor.id, created.ip, created.target?.type, created.target?.name], [ids.editor, '203.0.113.7', 'kb', 'Policies']);

    const [doc, other] = docs as [{ id: string; name: string }, { id: string; name: string }];
    assert.equal((await viewer.get(`/api/v1/kbs/${kbId}/documents/${doc.id}/content`)).status, 200);
    const view = await one('document.view', doc.id);
    assert.deepEqual([view.actor.id, view.ip, view.target?.name], [ids.viewer, '192.0.2.55', doc.name]);

    const download = await viewer.get(`/api/v1/kbs/${kbId}/documents/${doc.id}/file`);
    assert.equal(download.status, 200);
    const got = await one('document.download', doc.id);
    assert.deepEqual([got.actor.id, got.ip, got.target?.name], [ids.viewer, '192.0.2.55', doc.name]);

    // An API key is an actor of its own.
    const key = (await owner.post('/api/v1/api-keys', { name: 'sync bot', role: 'viewer' })).json;
    const bot = new ProxiedClient(server.url, '198.51.100.99');
    bot.bearer = key.key;
    bot.origin = null;
    assert.equal((await bot.get(`/api/v1/kbs/${kbId}/documents/${other.id}/file`)).status, 200);
    const botGot = await one('document.download', other.id);
    assert.deepEqual([botGot.actor.type, botGot.actor.id, botGot.actor.name, botGot.ip], ['apiKey', key.id, 'sync bot', '198.51.100.99']);

    assert.equal((await editor.post(`/api/v1/kbs/${kbId}/documents/${doc.id}/reprocess`)).status, 202);
    assert.deepEqual((await one('document.reprocess', doc.id)).target, { type: 'document', id: doc.id, name: doc.name });

    assert.equal((await editor.patch(`/api/v1/kbs/${kbId}`, { name: 'Site policies', settings: { chunkSize: 300 } })).status, 200);
    const updated = await one('kb.update', kbId);
    assert.deepEqual(updated.details, { name: 'Policies → Site policies', settings: 'chunkSize 350 → 300', reindexed: true });
    assert.equal(updated.target?.name, 'Site policies');
    assert.equal((await editor.patch(`/api/v1/kbs/${kbId}`, { name: 'Site policies' })).status, 200);
    assert.equal((await all(owner, 'action=kb.update')).length, 1, 'an update that changed nothing is not an event');

    assert.equal((await editor.post(`/api/v1/kbs/${kbId}/reindex`)).status, 202);
    assert.equal((await one('kb.reindex', kbId)).details?.['documents'], 2);
    await editor.settle(kbId);

    assert.equal((await editor.delete(`/api/v1/kbs/${kbId}/documents/${other.id}`)).status, 204);
    const deleted = await one('document.delete', other.id);
    assert.deepEqual([deleted.actor.id, deleted.ip, deleted.target?.name], [ids.editor, '203.0.113.7', `deleted document ${other.id}`]);
    // Deleting forgets the name, in the log too: its entries keep the id and everything else.
    const about = (await all(owner)).filter((e) => e.target?.id === other.id);
    assert.deepEqual(about.map((e) => e.action).sort(), ['document.create', 'document.delete', 'document.download'].sort());
    assert.ok(about.every((e) => e.target?.name === `deleted document ${other.id}`), JSON.stringify(about));
    assert.ok(!(await all(owner)).some((e) => JSON.stringify(e).includes('safety')), 'the name is nowhere in the log');
    assert.equal((await one('document.create', doc.id)).target?.name, doc.name, "another document's entries keep its name");

    assert.equal((await admin.patch('/api/v1/settings', { llmPolicy: 'local-then-cloud' })).status, 200);
    const settings = await one('settings.update', (await owner.get('/api/v1/me')).json.organisation.id);
    assert.deepEqual([settings.actor.id, settings.ip, settings.details?.['llmPolicy']], [ids.admin, '198.51.100.1', 'local-only → local-then-cloud']);

    // Refused actions leave no success behind.
    assert.equal((await viewer.delete(`/api/v1/kbs/${kbId}/documents/${doc.id}`)).status, 403);
    assert.equal((await all(owner, 'action=document.delete')).length, 1);
  });

  it('records a view once per actor and document within the window, passages included', async () => {
    const kb = (await editor.post('/api/v1/kbs', { name: 'Views' })).json.id as string;
    const up = await editor.upload(kb, [{ name: 'handbook.md', bytes: '# Handbook\n\nLeave is booked two weeks ahead.\n\nOvertime is paid monthly.' }]);
    const docId = up.json.documents[0].id as string;
    await editor.settle(kb);
    const hit = (await viewer.post(`/api/v1/kbs/${kb}/search`, { query: 'leave booked', mode: 'keyword' })).json.hits[0];
    assert.ok(hit, 'the passage is found');
    assert.equal((await all(owner, 'action=document.view')).filter((e) => e.target?.id === docId).length, 0, 'a search is not a view');

    for (let i = 0; i < 3; i++) assert.equal((await viewer.get(`/api/v1/kbs/${kb}/documents/${docId}/content`)).status, 200);
    assert.equal((await viewer.get(`/api/v1/kbs/${kb}/chunks/${hit.chunkId}`)).status, 200);
    assert.equal((await editor.get(`/api/v1/kbs/${kb}/chunks/${hit.chunkId}`)).status, 200);
    const views = (await all(owner, 'action=document.view')).filter((e) => e.target?.id === docId);
    assert.deepEqual(views.map((e) => e.actor.id).sort(), [ids.editor, ids.viewer].sort(), 'one view each, however often they read');
    // Downloads are not deduplicated: each is a copy.
    for (let i = 0; i < 2; i++) await viewer.get(`/api/v1/kbs/${kb}/documents/${docId}/file`);
    assert.equal((await all(owner, 'action=document.download')).filter((e) => e.target?.id === docId).length, 2);
    // Reading metadata (the list, one document's state) is not reading the document.
    await viewer.get(`/api/v1/kbs/${kb}/documents/${docId}`);
    await viewer.get(`/api/v1/kbs/${kb}/documents`);
    assert.equal((await all(owner, 'action=document.view')).filter((e) => e.target?.id === docId).length, 2);

    assert.equal((await editor.delete(`/api/v1/kbs/${kb}`)).status, 204);
    const gone = await one('kb.delete', kb);
    assert.deepEqual([gone.actor.id, gone.ip, gone.target?.name, gone.details?.['documents']], [ids.editor, '203.0.113.7', 'Views', 1]);
    const ofDocument = (await all(owner, 'action=document.')).filter((e) => e.target?.id === docId);
    assert.equal(ofDocument.length, 5, 'created, viewed twice, downloaded twice');
    assert.ok(ofDocument.every((e) => e.target?.name === `deleted document ${docId}`), "a deleted knowledge base's documents are forgotten by name too");
  });

  it("records an admin reading someone's conversation, not its owner reading it", async () => {
    const asked = await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'Where do visitors sign in?' });
    assert.equal(asked.status, 200, asked.text);
    const conversationId = asked.json.conversationId as string;
    for (let i = 0; i < 2; i++) assert.equal((await viewer.get(`/api/v1/conversations/${conversationId}`)).status, 200);
    assert.equal((await all(owner, 'action=conversation.read')).length, 0, "reading one's own conversation is not audited");

    for (let i = 0; i < 2; i++) assert.equal((await admin.get(`/api/v1/conversations/${conversationId}`)).status, 200);
    const read = await one('conversation.read', conversationId);
    assert.deepEqual([read.actor.id, read.ip, read.target], [ids.admin, '198.51.100.1', { type: 'conversation', id: conversationId, name: null }]);
    assert.deepEqual(read.details, { kbId, how: 'read', ownerType: 'user', ownerId: ids.viewer });
    assert.ok(!JSON.stringify(read).includes('visitors'), 'the conversation\'s words stay out of the log');
  });

  it("records an admin continuing or deleting someone's conversation", async () => {
    const asked = await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'Who signs visitors in?' });
    const conversationId = asked.json.conversationId as string;
    assert.equal((await viewer.post(`/api/v1/kbs/${kbId}/ask`, { question: 'And at night?', conversationId })).status, 200);
    assert.equal((await all(owner, 'action=conversation.')).filter((e) => e.target?.id === conversationId).length, 0, 'its owner continuing it is not audited');
    // A follow-up shows the admin the whole history, as reading it would.
    assert.equal((await admin.post(`/api/v1/kbs/${kbId}/ask`, { question: 'And on weekends?', conversationId })).status, 200);
    const continued = await one('conversation.read', conversationId);
    assert.deepEqual([continued.actor.id, continued.details], [ids.admin, { kbId, how: 'continue', ownerType: 'user', ownerId: ids.viewer }]);
    assert.equal((await admin.delete(`/api/v1/conversations/${conversationId}`)).status, 204);
    const deleted = await one('conversation.delete', conversationId);
    assert.deepEqual([deleted.actor.id, deleted.ip, deleted.details], [ids.admin, '198.51.100.1', { kbId, ownerType: 'user', ownerId: ids.viewer }]);
  });

  it('filters by actor, action or group, time and outcome', async () => {
    await new Client(server.url).post('/api/v1/auth/login', { email: 'viewer@riverside.test', password: 'not the password at all' });
    const everything = await all(owner);
    assert.ok(everything.length > 20);

    const byViewer = await all(owner, `actor=${ids.viewer}`);
    assert.deepEqual(byViewer.map((e) => e.id), everything.filter((e) => e.actor.id === ids.viewer).map((e) => e.id));
    assert.ok(byViewer.some((e) => e.action === 'document.view') && byViewer.some((e) => e.action === 'document.download'));

    const documents = await all(owner, 'action=document.');
    assert.deepEqual(documents.map((e) => e.id), everything.filter((e) => e.action.startsWith('document.')).map((e) => e.id));
    assert.deepEqual(new Set(documents.map((e) => e.action)), new Set(['document.create', 'document.view', 'document.download', 'document.reprocess', 'document.delete']));
    assert.deepEqual((await all(owner, 'action=kb.update')).map((e) => e.action), ['kb.update']);

    const failures = await all(owner, 'outcome=failure');
    assert.ok(failures.length > 0 && failures.every((e) => e.outcome === 'failure'));
    assert.ok(failures.some((e) => e.action === 'login' && e.target?.id === ids.viewer));

    // `from` is inclusive, `to` exclusive; a date alone is UTC midnight.
    const middle = everything[Math.floor(everything.length / 2)] as Entry;
    const since = await all(owner, `from=${encodeURIComponent(middle.at)}`);
    const until = await all(owner, `to=${encodeURIComponent(middle.at)}`);
    assert.deepEqual(since.map((e) => e.id), everything.filter((e) => e.at >= middle.at).map((e) => e.id));
    assert.deepEqual(until.map((e) => e.id), everything.filter((e) => e.at < middle.at).map((e) => e.id));
    assert.equal(since.length + until.length, everything.length);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    assert.equal((await all(owner, `from=${tomorrow}`)).length, 0);
    assert.equal((await all(owner, `to=${tomorrow}`)).length, everything.length);
    const offset = new Date(Date.parse(middle.at) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    assert.equal((await all(owner, `from=${encodeURIComponent(offset)}`)).length, since.length, 'an offset names the same instant');

    const combined = await all(owner, `actor=${ids.editor}&action=kb.&from=${encodeURIComponent(everything.at(-1)?.at ?? '')}`);
    assert.deepEqual(combined.map((e) => e.id), everything.filter((e) => e.actor.id === ids.editor && e.action.startsWith('kb.')).map((e) => e.id));

    for (const q of ['action=nope', 'action=document', 'from=yesterday', 'to=2024-13-45', 'outcome=maybe', 'actor=Not-An-Id', 'before=bm90IGEgY3Vyc29y', 'limit=5&extra=1']) {
      const r = await owner.get(`/api/v1/audit?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'validation_failed', q);
    }
    const actions = (await admin.get('/api/v1/audit/actions')).json;
    assert.ok(actions.actions.includes('export') && actions.actions.includes('document.view') && actions.groups.includes('document.'));
  });

  it('pages with a cursor: every entry once, in order, even within one millisecond', async () => {
    // Entries written straight to the store, many sharing a time, across several export batches.
    const orgId = (await owner.get('/api/v1/me')).json.organisation.id as string;
    const at = (i: number) => new Date(Date.UTC(2020, 0, 1) + Math.floor(i / 7)).toISOString();
    const synthetic = Array.from({ length: 1203 }, (_, i) => ({
      _id: `zz${String(i).padStart(5, '0').replace(/[0189]/g, (d) => 'abcd'['0189'.indexOf(d)] as string)}`,
      organisationId: orgId,
      at: at(i),
      action: 'login',
      outcome: 'success',
      actor: { type: 'user', id: 'syntheticactor', name: 'Synthetic' },
      target: null,
      ip: null,
      details: null,
    }));
    await server.store.collection('audit').insertMany(synthetic);

    const paged = await all(owner, 'actor=syntheticactor', 50);
    assert.equal(paged.length, 1203);
    assert.equal(new Set(paged.map((e) => e.id)).size, 1203, 'no entry twice');
    assert.ok(paged.every((e, i) => i === 0 || (paged[i - 1] as Entry).at > e.at || ((paged[i - 1] as Entry).at === e.at && (paged[i - 1] as Entry).id > e.id)), 'newest first, ties by id');

    const first = await owner.get('/api/v1/audit?limit=3');
    const second = await owner.get(`/api/v1/audit?limit=3&before=${encodeURIComponent(first.json.nextCursor)}`);
    const six = (await owner.get('/api/v1/audit?limit=6')).json.entries.map((e: Entry) => e.id);
    assert.deepEqual([...first.json.entries, ...second.json.entries].map((e: Entry) => e.id), six);

    const jsonl = await owner.get('/api/v1/audit/export?format=jsonl&actor=syntheticactor');
    const lines = jsonl.text.split('\n');
    assert.equal(lines.pop(), '', 'each line ends with a newline');
    assert.equal(lines.length, 1203, 'streamed in batches, none lost or repeated at their edges');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as Entry).id), paged.map((e) => e.id));
  });

  it('exports CSV escaped as RFC 4180 and defused against formulas, and audits the export', async () => {
    const hostile = '=HYPERLINK("http://evil.test","click"), me';
    const kb = (await editor.post('/api/v1/kbs', { name: hostile })).json.id as string;
    const plus = (await editor.post('/api/v1/kbs', { name: '+1 line' })).json.id as string;
    const res = await fetch(`${server.url}/api/v1/audit/export?format=csv&action=kb.create`, { headers: { cookie: admin.cookie ?? '', 'x-forwarded-for': admin.ip } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const text = await res.text();
    assert.ok(text.includes(`"'=HYPERLINK(""http://evil.test"",""click""), me"`), 'prefixed with a quote, then quoted with its quotes doubled');

    const rows = parseCsv(text);
    const [header, ...records] = rows as [string[], ...string[][]];
    assert.deepEqual(header, ['id', 'at', 'action', 'outcome', 'actor_type', 'actor_id', 'actor_name', 'target_type', 'target_id', 'target_name', 'ip', 'details']);
    const listed = await all(owner, 'action=kb.create');
    assert.deepEqual(records.map((r) => r[0]), listed.map((e) => e.id), 'one record per entry, in order');
    assert.ok(records.every((r) => r.length === header.length));
    const name = (id: string) => records.find((r) => r[8] === id)?.[9];
    assert.equal(name(kb), `'${hostile}`);
    assert.equal(name(plus), "'+1 line");
    assert.equal(name(kbId), 'Policies');

    const exported = (await all(owner, 'action=audit.export')).find((e) => e.details?.['format'] === 'csv');
    assert.ok(exported, 'the export is itself an entry');
    assert.deepEqual([exported.actor.id, exported.ip, exported.details?.['action']], [ids.admin, '198.51.100.1', 'kb.create']);

    // JSON Lines: as many lines as the filter selects.
    const filter = 'action=document.';
    const count = (await all(owner, filter)).length;
    const jsonl = await admin.get(`/api/v1/audit/export?format=jsonl&${filter}`);
    assert.match(jsonl.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const lines = jsonl.text.trimEnd().split('\n');
    assert.equal(lines.length, count);
    assert.ok(lines.every((l) => (JSON.parse(l) as Entry).action.startsWith('document.')));
    assert.equal((await viewer.get('/api/v1/audit/export?format=csv')).status, 403, 'admins only');
    assert.equal((await admin.get('/api/v1/audit/export?format=xml')).status, 400);
  });

  it("never shows an admin another organisation's entries; the instance owner also sees unscoped ones", async () => {
    const orgB = await owner.post('/api/v1/organisations', { name: 'Hilltop Practice', admin: { name: 'Bea Admin', email: 'bea@hilltop.test', password: PW } });
    assert.equal(orgB.status, 201, orgB.text);
    const bea = await new ProxiedClient(server.url, '203.0.113.200').signIn('bea@hilltop.test');
    const bKb = (await bea.post('/api/v1/kbs', { name: 'Hilltop handbook' })).json.id as string;
    await new Client(server.url).post('/api/v1/auth/login', { email: 'nobody@nowhere.test', password: 'not the password at all' });

    const bEntries = await all(bea);
    assert.ok(bEntries.some((e) => e.target?.id === bKb));
    const aIds = new Set((await all(admin)).map((e) => e.id));
    assert.ok(bEntries.every((e) => !aIds.has(e.id)), "B's listing holds none of A's entries");
    assert.ok(![...aIds].some((id) => bEntries.some((e) => e.id === id)));
    assert.equal((await all(admin)).filter((e) => e.target?.id === bKb).length, 0, "A's admin sees none of B's");
    assert.deepEqual(await all(bea, `actor=${ids.editor}`), [], "filtering by A's user finds nothing in B");
    assert.deepEqual(await all(bea, 'actor=syntheticactor'), []);
    const bExport = (await bea.get('/api/v1/audit/export?format=jsonl')).text.trimEnd().split('\n').map((l) => JSON.parse(l) as Entry);
    assert.ok(bExport.every((e) => !aIds.has(e.id)) && bExport.some((e) => e.target?.id === bKb));

    const unknownEmail = (e: Entry) => e.action === 'login' && e.details?.['reason'] === 'unknown_email';
    assert.ok((await all(owner, 'action=login&outcome=failure')).some(unknownEmail), 'the instance owner sees entries of no organisation');
    assert.ok(!(await all(admin, 'action=login&outcome=failure')).some(unknownEmail), "another admin of the owner's organisation does not");
    assert.ok(!(await all(bea)).some(unknownEmail));
    assert.ok((await owner.get('/api/v1/audit/export?format=jsonl&action=login&outcome=failure')).text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry).some(unknownEmail));
  });
});
