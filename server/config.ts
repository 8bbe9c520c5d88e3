import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

// Every setting is read once, here, and validated as a whole so that an operator sees every
// problem at boot in one message instead of fixing them one restart at a time.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().positive();

/** The table in README.md is generated from these descriptions (`node scripts/config-table.ts`). */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('TCP port the HTTP and WebSocket server listens on.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to bind. `127.0.0.1` keeps it local (e.g. behind Caddy on the same host).'),
  DATA_DIR: z.string().min(1).default('./data').describe('Where the embedded store, search index and uploaded files live. Back this up.'),
  MODELS_DIR: z.string().min(1).default('./models').describe('Where downloaded models are looked for.'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('External URL of the console, e.g. `https://lectern.example.org`. Used for the CSRF origin check and to decide whether cookies are `Secure`. When unset, the request\'s own host is trusted.'),
  TRUST_PROXY: bool.prefault('false').describe('Trust `X-Forwarded-For`/`-Proto` from a reverse proxy (set to `true` behind Caddy).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'like 1mb or 512kb').default('1mb').describe('Largest JSON request body accepted.'),
  SESSION_TTL_HOURS: positiveInt.default(24 * 14).describe('Idle lifetime of a console session; each use within the second half of it extends it (sliding expiry).'),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(5).describe('Failed logins for one email within the window before that account is throttled.'),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(20).describe('Failed logins from one IP address within the window before that address is throttled.'),
  LOGIN_WINDOW_SECONDS: positiveInt.default(15 * 60).describe('Throttling window and block duration for failed logins.'),
  SETUP_TOKEN: z.string().min(16).optional().describe('Secret. When set, first-run setup requires it (`setupToken` in the request), so nobody else can claim a freshly started box.'),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000).describe('How long graceful shutdown waits for in-flight requests before closing them.'),
});

/** Variables that may instead be given as `NAME_FILE=/run/secrets/...` (Docker/Compose secrets). */
export const secretNames = ['SETUP_TOKEN'] as const;

export type Config = z.output<typeof configSchema> & {
  /** DATA_DIR and MODELS_DIR resolved against the working directory. */
  dataDir: string;
  modelsDir: string;
};

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, readFile: (file: string) => string = (f) => readFileSync(f, 'utf8')): Config {
  const problems: string[] = [];
  const raw: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    const file = (secretNames as readonly string[]).includes(key) ? env[`${key}_FILE`] : undefined;
    if (value !== undefined && value !== '' && file) {
      problems.push(`${key}: set either ${key} or ${key}_FILE, not both`);
      continue;
    }
    if (file) {
      try {
        // Secret files usually end with a newline that is not part of the secret.
        raw[key] = readFile(file).replace(/\r?\n$/, '');
      } catch (err) {
        problems.push(`${key}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    } else if (value !== undefined && value !== '') {
      raw[key] = value;
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const data = parsed.data;
  return { ...data, dataDir: path.resolve(data.DATA_DIR), modelsDir: path.resolve(data.MODELS_DIR) };
}
