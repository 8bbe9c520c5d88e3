import { z } from 'zod';
import type { AnyRoute } from './route.ts';

type JsonSchema = Record<string, unknown>;

const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      traceId: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** An endpoint served outside the route declarations (the OpenAI-compatible `/v1`), documented by hand. */
export interface ExternalOperation {
  method: 'get' | 'post';
  /** The full path, from the root. */
  path: string;
  summary: string;
  body?: z.ZodType;
  /** Status → what it answers (with the success answer's schema); 400 and 401 are added. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

/**
 * Builds the OpenAPI 3.1 document from the route declarations. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12, which zod emits itself; schemas registered with `.meta({id})` become shared
 * components so the document stays readable.
 */
export function buildOpenApi(defs: readonly AnyRoute[], info: { version: string; basePath: string; external?: readonly ExternalOperation[] }) {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      reused: 'inline',
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const { $defs, $schema: _ignored, ...rest } = json;
    for (const [name, def] of Object.entries($defs ?? {})) components[name] = def;
    return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of defs) {
    const openPath = info.basePath + def.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', def.params], ['query', def.query]] as const) {
      if (!schema) continue;
      const json = convert(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, prop] of Object.entries(json.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: prop });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(def.responses)) {
      responses[status] = spec.schema
        ? { description: spec.description, content: { 'application/json': { schema: convert(spec.schema, 'output') } } }
        : Number(status) >= 400
          ? { description: spec.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
          : { description: spec.description };
    }
    if (def.body) responses['400'] ??= { description: 'Invalid request (`invalid_json`, `validation_failed`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    if (def.limit) responses['429'] ??= { description: 'Past a rate limit (`rate_limited`; `details[0].path` names it, `Retry-After` says when to try again)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    if (def.access !== 'public') {
      responses['401'] ??= { description: 'Not signed in (`unauthenticated`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      responses['403'] ??= { description: 'Role too low (`forbidden`) or cross-site request (`csrf`)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    (paths[openPath] ??= {})[def.method] = {
      summary: def.summary,
      tags: [def.tag],
      operationId: `${def.method}${def.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      'x-lectern-access': def.access,
      ...(def.access === 'public' ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(def.body, 'input') } } } } : {}),
      ...(def.multipart
        ? {
            requestBody: {
              required: true,
              content: {
                'multipart/form-data': {
                  schema: { type: 'object', properties: { [def.multipart.field]: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' }, description: def.multipart.description } }, required: [def.multipart.field] },
                },
              },
            },
          }
        : {}),
      responses,
    };
  }
  const error = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  for (const op of info.external ?? []) {
    const responses: Record<string, unknown> = {};
    for (const [status, { description, schema }] of Object.entries(op.responses)) {
      responses[status] = Number(status) >= 400 ? { description, ...error } : schema ? { description, content: { 'application/json': { schema: convert(schema, 'output') } } } : { description };
    }
    if (op.body) responses['400'] ??= { description: 'Invalid request (`invalid_json`, `validation_failed`)', ...error };
    responses['401'] ??= { description: 'No organisation API key (`unauthenticated`): these endpoints take API keys only', ...error };
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      tags: ['OpenAI-compatible'],
      operationId: `${op.method}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      'x-lectern-access': 'apiKey',
      security: [{ apiKey: [] }],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(op.body, 'input') } } } } : {}),
      responses,
    };
  }
  components['Error'] ??= convert(ErrorBody, 'output');

  return {
    openapi: '3.1.0',
    info: {
      title: 'Lectern API',
      version: info.version,
      description: 'Every error response is `{"error": {"code", "message", "traceId"}}`. Authenticate with the console session cookie or `Authorization: Bearer <API key>`.',
    },
    servers: [{ url: '/' }],
    security: [{ session: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'lectern_session' },
        apiKey: { type: 'http', scheme: 'bearer', description: 'An organisation API key, `lectern_…`' },
      },
      schemas: components,
    },
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApi>;
