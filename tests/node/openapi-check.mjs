// Checks weft's OpenAPI document and the answers a test recorded against it.
//
//   node openapi-check.mjs OPENAPI.yaml ROUTES RECORDED
//
// - OPENAPI.yaml must be a valid OpenAPI 3 document (swagger-parser validates it against
//   the specification's schema and resolves every $ref).
// - ROUTES holds the gateway's routes, "METHOD /path/{}/..." a line (weft-gateway --routes):
//   every route must be documented, and every documented operation must be a route.
// - RECORDED holds one answer a line: "METHOD PATH STATUS CONTENT-TYPE BODYFILE". Each must
//   match a documented operation and status, and a JSON body must validate (ajv) against
//   the schema documented for it.
// Prints one line per problem and exits 1 when there is any.
import fs from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';

const [docPath, routesPath, recordedPath] = process.argv.slice(2);
const problems = [];
let api;
try {
  api = await SwaggerParser.validate(docPath);
} catch (e) {
  console.log(`invalid OpenAPI document: ${e.message}`);
  process.exit(1);
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const documented = new Set();
for (const [path, item] of Object.entries(api.paths)) {
  for (const m of METHODS) {
    if (item[m]) documented.add(`${m.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`);
  }
}
const routes = new Set(fs.readFileSync(routesPath, 'utf8').split('\n').filter(Boolean));
for (const r of routes) if (!documented.has(r)) problems.push(`route not documented: ${r}`);
for (const d of documented) if (!routes.has(d)) problems.push(`documented, not served: ${d}`);

// OpenAPI 3.0 schemas are JSON Schema with "nullable": turn it into a type union for ajv.
function toJsonSchema(s) {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== 'object') return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || k === 'example' || k === 'format') continue;
    out[k] = toJsonSchema(v);
  }
  if (s.nullable) {
    if (out.type) out.type = [].concat(out.type, 'null');
    else if (!out.anyOf) return {anyOf: [out, {type: 'null'}]};
    if (out.enum) out.enum = [...out.enum, null];
  }
  return out;
}

const ajv = new Ajv({strict: false, allErrors: true});
function operationFor(method, path) {
  for (const [tmpl, item] of Object.entries(api.paths)) {
    const re = new RegExp('^' + tmpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(path) && item[method.toLowerCase()]) return [tmpl, item[method.toLowerCase()]];
  }
  return [null, null];
}

let checked = 0;
const lines = fs.readFileSync(recordedPath, 'utf8').split('\n').filter(Boolean);
for (const line of lines) {
  const [method, fullPath, status, ctype, bodyFile] = line.split(' ');
  const path = fullPath.split('?')[0];
  const [tmpl, op] = operationFor(method, path);
  if (!op) {
    // The answer to a route the gateway does not have (404) or a method it does not take
    // there (405) is the gateway's own, for any path.
    if (status === '404' || status === '405') continue;
    problems.push(`${method} ${path}: no documented operation`);
    continue;
  }
  const resp = op.responses[status];
  if (!resp) {
    problems.push(`${method} ${tmpl}: status ${status} is not documented`);
    continue;
  }
  const media = (ctype || '').split(';')[0];
  if (!resp.content) continue;
  if (!resp.content[media]) {
    problems.push(`${method} ${tmpl} ${status}: content type ${media} is not documented`);
    continue;
  }
  if (media !== 'application/json') continue;
  let body;
  try {
    body = JSON.parse(fs.readFileSync(bodyFile, 'utf8'));
  } catch (e) {
    problems.push(`${method} ${path} ${status}: the body is not JSON (${e.message})`);
    continue;
  }
  const validate = ajv.compile(toJsonSchema(resp.content[media].schema));
  if (!validate(body))
    problems.push(`${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`);
  checked++;
}
for (const p of problems) console.log(p);
console.log(`${routes.size} routes, ${documented.size} documented operations, ` +
            `${lines.length} answers (${checked} JSON bodies validated), ` +
            `${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
