// OpenAPI description tests: structural validity (operationIds, responses, resolvable $refs, declared
// path parameters), the routes each listener describes, and the per-model document. That they are
// the routes served: served-routes.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { apiDescription, modelApiDescription } from '../../frontend/http/openapi.js';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const VARIANTS = {
  inference: { inference: true, management: false },
  management: { inference: false, management: true },
  union: { inference: true, management: true },
} as const;

function operations(doc: Json): Array<{ path: string; method: string; op: Json }> {
  const out: Array<{ path: string; method: string; op: Json }> = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      assert.ok(METHODS.includes(method), `unexpected key ${method} under ${path}`);
      out.push({ path, method, op: op as Json });
    }
  }
  return out;
}

function collectRefs(node: unknown, refs: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, refs));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') refs.push(String(v));
      else collectRefs(v, refs);
    }
  }
  return refs;
}

function resolve(doc: Json, pointer: string): unknown {
  assert.ok(pointer.startsWith('#/components/'), `non-local or non-component $ref ${pointer}`);
  let cur: unknown = doc;
  for (const part of pointer.slice(2).split('/')) {
    if (cur === null || typeof cur !== 'object' || !(part in cur)) return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

function assertStructurallyValid(doc: Json): void {
  assert.equal(doc.openapi, '3.0.1');
  const info = doc.info as Json;
  assert.equal(typeof info.title, 'string');
  assert.equal(typeof info.description, 'string');
  // The package's version, as the Open Inference Protocol's server metadata says it.
  assert.equal(info.version, (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  assert.ok(doc.components && typeof doc.components === 'object');
  const ops = operations(doc);
  assert.ok(ops.length > 0);
  for (const { path, method, op } of ops) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(path.startsWith('/'), `${where}: path must start with /`);
    assert.equal(typeof op.operationId, 'string', `${where}: operationId`);
    assert.ok((op.operationId as string).length > 0, `${where}: empty operationId`);
    const responses = op.responses as Json;
    assert.ok(responses && Object.keys(responses).length > 0, `${where}: responses`);
    for (const code of Object.keys(responses)) assert.match(code, /^[1-5]\d\d$|^default$/, `${where}: code ${code}`);
    for (const p of (op.parameters as Json[] | undefined) ?? []) {
      assert.ok(['path', 'query', 'header', 'cookie'].includes(p.in as string), `${where}: param location`);
      assert.equal(typeof p.name, 'string');
      assert.ok(p.schema, `${where}: param ${String(p.name)} has no schema`);
      if (p.in === 'path') assert.equal(p.required, true, `${where}: path param ${String(p.name)} must be required`);
    }
  }
  for (const r of collectRefs(doc)) assert.notEqual(resolve(doc, r), undefined, `unresolved $ref ${r}`);
}

function assertPathParamsDeclared(doc: Json): void {
  for (const { path, method, op } of operations(doc)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    const declared = ((op.parameters as Json[] | undefined) ?? [])
      .filter((p) => p.in === 'path')
      .map((p) => p.name as string)
      .sort();
    assert.deepEqual(declared, templated, `${method.toUpperCase()} ${path}: path parameters`);
  }
}

const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;
const docRoutes = (doc: Json) => operations(doc).map(({ path, method }) => key({ method, path })).sort();
describe('apiDescription', () => {
  for (const [name, apis] of Object.entries(VARIANTS)) {
    it(`${name}: is structurally valid with declared path parameters`, () => {
      const doc = apiDescription(apis);
      assertStructurallyValid(doc);
      assertPathParamsDeclared(doc);
      // Round-trips through JSON unchanged (no undefined, functions, etc.).
      assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
    });
  }

  it('describes the brief routes per listener, and their union on a shared address', () => {
    const inf = docRoutes(apiDescription(VARIANTS.inference));
    const mgmt = docRoutes(apiDescription(VARIANTS.management));
    for (const r of [
      'OPTIONS /', 'GET /api-description', 'GET /ping', 'POST /predictions/{model_name}', 'PUT /predictions/{model_name}',
      'OPTIONS /predictions/{model_name}', 'POST /predictions/{model_name}/{model_version}', 'POST /invocations',
      'POST /models/{model_name}/invoke', 'GET /docs', 'GET /docs/{file}',
      'GET /v2/health/live', 'GET /v2/health/ready', 'GET /v2', 'GET /v2/models/{model_name}',
      'GET /v2/models/{model_name}/versions/{model_version}', 'GET /v2/models/{model_name}/ready',
      'GET /v2/models/{model_name}/versions/{model_version}/ready', 'POST /v2/models/{model_name}/infer',
      'POST /v2/models/{model_name}/versions/{model_version}/infer',
    ]) assert.ok(inf.includes(r), `inference lacks ${r}`);
    assert.deepEqual(mgmt, [
      'DELETE /models/{model_name}', 'DELETE /models/{model_name}/{model_version}', 'GET /api-description',
      'GET /console', 'GET /console/api/summary', 'GET /console/{file}', 'GET /docs',
      'GET /docs/{file}', 'GET /models', 'GET /models/{model_name}', 'GET /models/{model_name}/{model_version}',
      'OPTIONS /', 'POST /models', 'POST /v2/repository/index', 'POST /v2/repository/models/{model_name}/load',
      'POST /v2/repository/models/{model_name}/unload', 'PUT /models/{model_name}', 'PUT /models/{model_name}/{model_version}',
      'PUT /models/{model_name}/{model_version}/set-default',
    ]);
    assert.ok(!inf.includes('POST /v2/repository/index'), 'repository extension on the inference listener');
    assert.ok(!inf.includes('GET /models'), 'management route on inference listener');
    assert.deepEqual(docRoutes(apiDescription(VARIANTS.union)), [...new Set([...inf, ...mgmt])].sort());
  });

  it('uses the documented operationIds', () => {
    const doc = apiDescription(VARIANTS.union);
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const id = (p: string, m: string) => paths[p]?.[m]?.operationId;
    assert.equal(id('/', 'options'), 'apiDescription');
    assert.equal(id('/api-description', 'get'), 'apiDescription');
    assert.equal(paths['/api-description']!.get!.deprecated, true);
    assert.equal(id('/ping', 'get'), 'ping');
    assert.equal(id('/predictions/{model_name}', 'post'), 'predictions');
    assert.equal(id('/predictions/{model_name}', 'options'), 'predictionsApi');
    assert.equal(id('/predictions/{model_name}/{model_version}', 'post'), 'versionPredictions');
    assert.equal(id('/invocations', 'post'), 'invocations');
    assert.equal(id('/models/{model_name}/invoke', 'post'), 'invocations');
    assert.equal(id('/models', 'get'), 'listModels');
    assert.equal(id('/models', 'post'), 'registerModel');
    assert.equal(id('/models/{model_name}', 'get'), 'describeModel');
    assert.equal(id('/models/{model_name}', 'put'), 'setAutoScale');
    assert.equal(id('/models/{model_name}', 'delete'), 'unregisterModel');
  });

  it('emits typed defaults and the parameter names the server reads', () => {
    const paths = apiDescription(VARIANTS.management).paths as Record<string, Record<string, Json>>;
    const params = (p: string, m: string) =>
      new Map((paths[p]![m]!.parameters as Json[]).map((x) => [x.name as string, x]));
    const reg = params('/models', 'post');
    assert.equal(reg.get('url')!.required, true);
    assert.ok(!reg.has('model_url'));
    assert.deepEqual((reg.get('runtime')!.schema as Json).enum, ['onnx', 'node']);
    assert.equal((reg.get('synchronous')!.schema as Json).default, true);
    assert.equal((reg.get('batch_size')!.schema as Json).default, 1);
    assert.equal((reg.get('max_batch_delay')!.schema as Json).default, 100);
    assert.equal((params('/models', 'get').get('limit')!.schema as Json).default, 100);
    assert.equal((params('/models/{model_name}', 'put').get('synchronous')!.schema as Json).default, false);
    const body = paths['/models']!.post!.requestBody as Json;
    assert.ok((body.content as Json)['application/json']);
    // No default anywhere is a string standing for a number or boolean.
    const walk = (n: unknown): void => {
      if (n === null || typeof n !== 'object') return;
      const o = n as Json;
      if ('default' in o && (o.type === 'integer' || o.type === 'boolean')) {
        assert.equal(typeof o.default, o.type === 'integer' ? 'number' : 'boolean');
      }
      Object.values(o).forEach(walk);
    };
    walk(apiDescription(VARIANTS.union));
  });

  it('describes the v2 tensor and binary-data request formats and error responses', () => {
    const doc = apiDescription(VARIANTS.inference);
    const op = (doc.paths as Record<string, Record<string, Json>>)['/predictions/{model_name}']!.post!;
    const content = (op.requestBody as Json).content as Json;
    for (const t of ['application/json', 'application/octet-stream', 'multipart/form-data', '*/*']) {
      assert.ok(content[t], `missing request media type ${t}`);
    }
    const params = op.parameters as Json[];
    assert.ok(params.some((p) => p.in === 'header' && p.name === 'Inference-Header-Content-Length'));
    const responses = op.responses as Json;
    for (const code of ['200', '400', '404', '413', '500', '503']) assert.ok(responses[code], `missing ${code}`);
    const schemas = (doc.components as Json).schemas as Json;
    assert.deepEqual((schemas.ErrorResponse as Json).required, ['code', 'type', 'message']);
    assert.ok(schemas.InferenceRequest && schemas.InferenceResponse);
    const errorRef = collectRefs(responses['404']);
    assert.equal(resolve(doc, errorRef[0]!) !== undefined, true);
    assert.ok(collectRefs(resolve(doc, errorRef[0]!)).includes('#/components/schemas/ErrorResponse'));
  });
});

describe('modelApiDescription', () => {
  it('contains only the concrete model path with a post operation', () => {
    const doc = modelApiDescription({ name: 'resnet-18', version: '2.0' });
    assertStructurallyValid(doc);
    assertPathParamsDeclared(doc);
    assert.deepEqual(Object.keys(doc.paths as Json), ['/predictions/resnet-18']);
    const item = (doc.paths as Record<string, Json>)['/predictions/resnet-18']!;
    assert.deepEqual(Object.keys(item), ['post']);
    assert.match((doc.info as Json).title as string, /resnet-18/);
    assert.match((doc.info as Json).description as string, /2\.0/);
  });

  it('works without a version', () => {
    const doc = modelApiDescription({ name: 'noop' });
    assertStructurallyValid(doc);
    assert.ok((doc.paths as Json)['/predictions/noop']);
  });
});
