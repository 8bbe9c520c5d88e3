/**
 * A small cookie-keeping HTTP client for API tests. It behaves like the console in a browser:
 * it remembers the session cookie and sends `Origin` on state-changing requests.
 */
export class Client {
  readonly base: string;
  cookie: string | null = null;
  bearer: string | null = null;
  origin: string | null;

  constructor(base: string, options: { origin?: string | null } = {}) {
    this.base = base;
    this.origin = options.origin === undefined ? base : options.origin;
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    const isForm = body instanceof FormData;
    if (body !== undefined && typeof body !== 'string' && !isForm) h['content-type'] ??= 'application/json';
    if (this.cookie) h['cookie'] = this.cookie;
    if (this.bearer) h['authorization'] = `Bearer ${this.bearer}`;
    if (this.origin && method !== 'GET') h['origin'] ??= this.origin;
    const res = await fetch(this.base + path, {
      method,
      headers: h,
      ...(body === undefined ? {} : { body: typeof body === 'string' || isForm ? (body as string | FormData) : JSON.stringify(body) }),
    });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('lectern_session='));
    if (setCookie) {
      const value = setCookie.split(';')[0] ?? '';
      this.cookie = value === 'lectern_session=' ? null : value;
    }
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, json, text, setCookie: setCookie ?? null };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, undefined, headers);
  }
  post(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request('POST', path, body ?? {}, headers);
  }
  patch(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PATCH', path, body, headers);
  }
  delete(path: string, headers?: Record<string, string>) {
    return this.request('DELETE', path, undefined, headers);
  }

  /** The same credentials against another server (e.g. the same data directory restarted). */
  withBase(base: string): Client {
    const c = new Client(base);
    c.cookie = this.cookie;
    c.bearer = this.bearer;
    return c;
  }

  /** Multipart upload of `files` (name → bytes) to a knowledge base. */
  upload(kbId: string, files: Array<{ name: string; bytes: Uint8Array | string; type?: string }>) {
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([f.bytes as BlobPart], { type: f.type ?? 'application/octet-stream' }), f.name);
    return this.request('POST', `/api/v1/kbs/${kbId}/documents`, form);
  }

  /** Polls the documents of a knowledge base until none is queued or processing. */
  async settle(kbId: string, timeoutMs = 120_000): Promise<Array<Record<string, any>>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const docs = (await this.get(`/api/v1/kbs/${kbId}/documents`)).json.documents as Array<Record<string, any>>;
      if (docs.every((d) => d['status'] === 'ready' || d['status'] === 'failed')) return docs;
      if (Date.now() > end) throw new Error(`documents still processing: ${docs.filter((d) => d['status'] !== 'ready' && d['status'] !== 'failed').map((d) => `${d['name']}:${d['stage']}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  setCookie: string | null;
}

export const OWNER = { organisation: 'Riverside Clinic', name: 'Ada Owner', email: 'ada@riverside.test', password: 'correct horse battery staple' };

/** Runs first-run setup and returns a client signed in as the instance owner. */
export async function setUp(base: string, input = OWNER): Promise<{ owner: Client; setup: Reply }> {
  const owner = new Client(base);
  const setup = await owner.post('/api/v1/setup', input);
  if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${setup.text}`);
  return { owner, setup };
}

export async function signedIn(base: string, email: string, password: string): Promise<Client> {
  const c = new Client(base);
  const r = await c.post('/api/v1/auth/login', { email, password });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
  return c;
}
