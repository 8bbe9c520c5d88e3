import type Router from '@koa/router';
import { Stream } from 'node:stream';
import { z } from 'zod';
import { errors, type ErrorDetail } from '../errors.ts';
import { roleAtLeast, type Role } from '../auth/roles.ts';
import { principalOf, type AppContext, type AppState } from './context.ts';
import { countRequest } from '../limits/http.ts';
import type { LimitName, RateLimits } from '../limits/rate-limits.ts';

/** Who may call a route: anyone, any signed-in principal, a minimum role, or the instance owner. */
export type Access = 'public' | 'authenticated' | Role | 'instanceOwner';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Counts `n` items against the route's per-item `limit` (429 past it): an upload's files. */
  count(n: number): Promise<void>;
}

/**
 * One declaration per endpoint. The same object mounts the handler chain
 * (access → validate → handler) and describes the operation in the OpenAPI document, so the
 * documentation cannot drift from what is enforced.
 */
export interface RouteDef<P = unknown, Q = unknown, B = unknown, R extends Responses = Responses> {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  tag: string;
  access: Access;
  /** Refuse API keys: for actions that belong to a person (logout, password change). */
  sessionOnly?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** A multipart upload the handler reads itself; documented in OpenAPI. */
  multipart?: { field: string; description: string };
  /**
   * The rate limit the route counts against, after authentication: a point per request; or, per
   * item, the handler counts its items with `input.count(n)` and the route only refuses, before
   * the request is read, a caller with nothing left.
   */
  limit?: LimitName | { name: LimitName; perItem: true };
  status?: number;
  responses: R;
  handler(ctx: AppContext, input: RouteInput<P, Q, B>): Promise<HandlerResult<R>> | HandlerResult<R>;
}

export type Responses = Record<number, ResponseSpec>;

/** Bodies a handler writes as they are (see isJsonResult): no schema applies to them. */
type RawBody = Stream | Uint8Array | string;

type SuccessStatus = 200 | 201 | 202;

/** What the route's success schemas accept: the input side, since the result is parsed by them. */
type SuccessBody<R> = { [K in keyof R & SuccessStatus]: R[K] extends { schema: infer S extends z.ZodType } ? z.input<S> : never }[keyof R & SuccessStatus];

/**
 * What a handler may return: what its declared success schema accepts, or a body it writes as it
 * is. So a result missing a field or mistyping one fails `tsc`, before presentResponse would
 * refuse it at run time. A route that declares no success schema returns what it likes.
 */
export type HandlerResult<R> = [SuccessBody<R>] extends [never] ? unknown : SuccessBody<R> | RawBody;

/** A declared route with its input types erased, so routes of different shapes share one list. */
export type AnyRoute = RouteDef<unknown, unknown, unknown>;

export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined, R extends Responses = Responses>(def: RouteDef<P, Q, B, R>): AnyRoute {
  // The handler only ever receives what its own schemas parsed, and its result is checked against
  // R above and parsed at run time, so erasing the types here is sound.
  return def as unknown as AnyRoute;
}

/** Ids are opaque lowercase base32; anything else cannot name a record, so it is "not found". */
export const idParam = z.string().regex(/^[a-z2-7]{1,64}$/);

function zodDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: 'is not a known field' }));
    }
    return [{ path, message: issue.message }];
  });
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw errors.validation(zodDetails(result.error).map((d) => ({ ...d, path: d.path ? `${prefix}${d.path}` : prefix.replace(/\.$/, '') })));
  return result.data;
}

function hasBody(ctx: AppContext): boolean {
  return Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
}

function authorise(ctx: AppContext, def: AnyRoute): void {
  if (def.access === 'public') return;
  const principal = ctx.state.principal;
  if (!principal) throw errors.unauthenticated();
  if (def.sessionOnly && principal.via !== 'session') throw errors.forbidden('API keys cannot do this; sign in as a user.');
  if (def.access === 'authenticated') return;
  if (def.access === 'instanceOwner') {
    if (!principal.instanceOwner) throw errors.forbidden('Only the instance owner can do this.');
    return;
  }
  if (!roleAtLeast(principal.role, def.access)) throw errors.forbidden();
}

function readInput(ctx: AppContext, def: AnyRoute): Omit<RouteInput<unknown, unknown, unknown>, 'count'> {
  let params: unknown = {};
  if (def.params) {
    const parsed = def.params.safeParse(ctx.params);
    // A malformed id is indistinguishable from an unknown one, by design.
    if (!parsed.success) throw errors.notFound();
    params = parsed.data;
  }
  const query = def.query ? parseOrThrow(def.query, { ...ctx.query }, 'query.') : {};
  let body: unknown;
  if (def.body) {
    if (hasBody(ctx) && !ctx.is('application/json')) throw errors.unsupportedMediaType();
    body = parseOrThrow(def.body, (ctx.request as { body?: unknown }).body ?? {}, '');
  }
  return { params, query, body };
}

/** A handler's result that its declared response schema refuses: a bug of ours, never sent. */
export class ResponseSchemaError extends Error {
  readonly issues: ErrorDetail[];
  constructor(route: string, issues: ErrorDetail[]) {
    super(`the response of ${route} does not match its schema`);
    this.name = 'ResponseSchemaError';
    this.issues = issues;
  }
}

/**
 * What goes on the wire is what the declared schema says: the result is parsed by it, so a field a
 * presenter lets through by accident is dropped (zod objects strip unknown keys), and a result
 * that does not match — a missing field, a wrong type — is an internal error (500, logged with the
 * issues) and fails the test that reached it, rather than reaching a client. Streams and
 * non-JSON bodies a handler writes itself (it returns undefined) are its own business.
 */
export function presentResponse(def: AnyRoute, status: number, result: unknown): unknown {
  const schema = def.responses[status]?.schema;
  if (result === undefined || !schema || !isJsonResult(result)) return result;
  const parsed = schema.safeParse(result);
  if (!parsed.success) throw new ResponseSchemaError(`${def.method.toUpperCase()} ${def.path}`, zodDetails(parsed.error));
  return parsed.data;
}

/** What a route's `limit` is enforced with. */
export type RouteLimits = Pick<RateLimits, 'take' | 'ensureLeft'>;

/** Streams (event streams, downloads) and raw bytes are written as they are; only JSON is checked. */
function isJsonResult(result: unknown): boolean {
  return !(result instanceof Stream || result instanceof Uint8Array || typeof result === 'string');
}

export function mount(router: Router<AppState>, defs: readonly AnyRoute[], options: { limits?: RouteLimits } = {}): void {
  for (const def of defs) {
    const limit = typeof def.limit === 'string' ? { name: def.limit, perItem: false } : def.limit;
    const limits = options.limits;
    if (limit && !limits) throw new Error(`${def.method.toUpperCase()} ${def.path} declares a limit, and no limits were given to enforce it`);
    router[def.method](def.path, async (ctx: AppContext) => {
      authorise(ctx, def);
      if (limit && limits) {
        if (limit.perItem) await limits.ensureLeft(principalOf(ctx), limit.name);
        else await countRequest(ctx, limits, limit.name);
      }
      const count = async (n: number) => {
        if (limit?.perItem && limits) await countRequest(ctx, limits, limit.name, n);
      };
      const result = await def.handler(ctx, { ...readInput(ctx, def), count });
      ctx.status = def.status ?? 200;
      if (result !== undefined && ctx.status !== 204) ctx.body = presentResponse(def, ctx.status, result);
    });
  }
}
