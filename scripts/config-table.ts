import { configSchema, secretNames } from '../server/config.ts';

// Prints the README's configuration table from the config schema itself, so the documentation
// is the code's. `server/config.test.ts` fails when README.md and this output differ.

export function configTable(): string {
  const rows = Object.entries(configSchema.shape).map(([name, schema]) => {
    const json = schema.toJSONSchema({ io: 'input', unrepresentable: 'any' }) as { default?: unknown };
    const def = json.default === undefined ? '—' : `\`${String(json.default)}\``;
    const file = (secretNames as readonly string[]).includes(name) ? ` Also \`${name}_FILE\`.` : '';
    return `| \`${name}\` | ${def} | ${(schema.description ?? '').replaceAll('|', '\\|')}${file} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

if (import.meta.main) process.stdout.write(configTable() + '\n');
