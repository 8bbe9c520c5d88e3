import { readFileSync } from 'node:fs';

/** This Lectern's version, from package.json: in the OpenAPI document, backups' manifests and traces. */
export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
