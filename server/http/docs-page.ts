import type { OpenApiDocument } from './openapi.ts';

// A dependency-free reading view of the OpenAPI document: the appliance is offline, so a
// Swagger UI from a CDN is not an option, and the JSON itself stays the machine-readable source.

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const docsCss = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
.op{border:1px solid #ddd;border-radius:6px;margin:.75rem 0;padding:.5rem .75rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase;font-family:ui-monospace,monospace}
.get{color:#0b5394}.post{color:#38761d}.patch{color:#7f6000}.delete{color:#990000}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f5f5f5;padding:.5rem;overflow:auto;border-radius:4px}
summary{cursor:pointer}.access{color:#555;font-size:13px}
`;

export function renderDocsPage(doc: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(ops)) {
      const op = raw as { summary: string; tags: string[]; requestBody?: unknown; parameters?: unknown; responses: Record<string, { description: string }>; 'x-lectern-access': string };
      const tag = op.tags[0] ?? 'Other';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => `<li><code>${esc(status)}</code> ${esc(r.description)}</li>`)
        .join('');
      const body = op.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : '';
      const params = op.parameters ? `<details><summary>Parameters</summary><pre>${esc(JSON.stringify(op.parameters, null, 2))}</pre></details>` : '';
      const html = `<section class="op"><div><span class="m ${esc(method)}">${esc(method)}</span> <code>${esc(path)}</code></div>
<p>${esc(op.summary)} <span class="access">(access: ${esc(op['x-lectern-access'])})</span></p>${params}${body}<ul>${responses}</ul></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const sections = [...byTag].map(([tag, ops]) => `<h2>${esc(tag)}</h2>${ops.join('\n')}`).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Lectern API</title><link rel="stylesheet" href="/api/docs.css"></head><body><main>
<h1>Lectern API ${esc(doc.info.version)}</h1><p>${esc(doc.info.description)}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).</p>
${sections}</main></body></html>`;
}
