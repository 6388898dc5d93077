/**
 * Every answer checked against `openapi.yaml` at run time: the schema of its exact status (a status
 * only `default` covers is undocumented), objects closed (a field the document does not declare is
 * an error). As openapi-fetch middleware, so every request of a walk is checked.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Middleware } from 'openapi-fetch';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const doc = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8')) as { [k: string]: Json };

/** Inlines every local `$ref` (the document has no cycles). */
function resolve(node: Json): Json {
  if (Array.isArray(node)) return node.map(resolve);
  if (node && typeof node === 'object') {
    const ref = node.$ref;
    if (typeof ref === 'string' && Object.keys(node).length === 1) {
      let target: Json = doc;
      for (const part of ref.replace(/^#\//, '').split('/')) target = (target as { [k: string]: Json })[part] as Json;
      return resolve(target);
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
  }
  return node;
}

/** Our object schemas, closed. */
function closed(node: Json): Json {
  if (Array.isArray(node)) return node.map(closed);
  if (node && typeof node === 'object') {
    const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, closed(v)]));
    if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
    return out;
  }
  return node;
}

const paths = closed(resolve(doc.paths as Json)) as { [path: string]: { [method: string]: { responses: { [status: string]: Json } } } };
const templates = Object.keys(paths).map((p) => ({ path: p, rx: new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

/** What the document says of `method path` answered with `status`: an error message, or null when it fits. */
export function check(method: string, path: string, status: number, body: unknown): string | null {
  const template = templates.find((t) => t.rx.test(path))?.path;
  if (!template) return path.startsWith('/_local') ? null : `${method} ${path}: not in the document`;
  const op = paths[template]?.[method.toLowerCase()];
  if (!op) return `${method} ${template}: not in the document`;
  const response = op.responses[String(status)] as { content?: { 'application/json'?: { schema?: Json } } } | undefined;
  if (!response) return `${method} ${template}: status ${status} is not documented`;
  const schema = response.content?.['application/json']?.schema;
  if (schema === undefined) return null;
  const validate = ajv.compile(schema as object);
  return validate(body) ? null : `${method} ${template} ${status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`;
}

/** Middleware that throws on any answer the document does not describe; `seen` counts the checked ones. */
export function contract(seen: { checked: number }): Middleware {
  return {
    onResponse: async ({ request, response }) => {
      const text = await response.clone().text();
      const body: unknown = text ? JSON.parse(text) : null;
      const problem = check(request.method, new URL(request.url).pathname, response.status, body);
      if (problem) throw new Error(`contract: ${problem}`);
      seen.checked += 1;
      return response;
    },
  };
}
