/**
 * `/docs`: the API reference as one self-contained HTML page rendered from the OpenAPI document (no
 * scripts, no external assets — the machines that run this have no business fetching a CDN). The
 * machine-readable document stays at `/openapi.json`.
 */

interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly 'x-scope'?: string;
}

export interface OpenApiLike {
  readonly info?: { readonly title?: string; readonly description?: string };
  readonly paths?: Record<string, Record<string, Operation | undefined> | undefined>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One row per operation, grouped by the first path segment after /v1, in path order. */
export function renderDocsPage(doc: OpenApiLike): string {
  const rows: string[] = [];
  let group = '';
  for (const path of Object.keys(doc.paths ?? {}).sort()) {
    const item = doc.paths?.[path] ?? {};
    const section = path.split('/')[2] ?? path;
    if (section !== group) {
      group = section;
      rows.push(`<tr><th colspan="3" id="${escapeHtml(section)}">${escapeHtml(section)}</th></tr>`);
    }
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const text = op.summary ?? op.description ?? '';
      rows.push(
        `<tr><td class="m">${method.toUpperCase()}</td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(text)}</td></tr>`,
      );
    }
  }
  const title = escapeHtml(doc.info?.title ?? 'API');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}td,th{padding:.2em .6em;text-align:left;vertical-align:top}
th{padding-top:1em;border-bottom:1px solid #ccc}.m{font-weight:bold;font-family:monospace}</style></head>
<body><h1>${title}</h1><p>${escapeHtml(doc.info?.description ?? '')}</p>
<p>The machine-readable OpenAPI 3 document with every request and response schema: <a href="/openapi.json">/openapi.json</a>.</p>
<table>${rows.join('\n')}</table></body></html>
`;
}
