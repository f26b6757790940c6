// The routes a listener serves equal the routes its OpenAPI document describes, for the inference
// listener (a front), the management listener (the controller) and one shared address (both).
// Served routes come from the Koa routers buildApp mounts; each documented operation is also sent to
// the app, which must route it (not answer 404 ResourceNotFound or 405). A real worker router and a
// real registry with no models answer them (ModelNotFound, a missing parameter): no process starts.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type Router from '@koa/router';
import type Koa from 'koa';
import { pino } from 'pino';
import { buildApp, type AppApis } from '../../frontend/http/app.js';
import { loadConfig } from '../../frontend/config/server-config.js';
import { apiDescription } from '../../frontend/http/openapi.js';
import { WorkerRouter } from '../../frontend/inference/worker-router.js';
import { ModelRegistry } from '../../frontend/control/registry/model-registry.js';

type Json = Record<string, unknown>;
const ANY = 'ANY';

const log = pino({ level: 'silent' });
const config = loadConfig({ env: {}, overrides: { model_store: '/nonexistent-store' } });
const workers = new WorkerRouter({ frontId: 'test', maxResponseSize: config.maxResponseSize, log });
const registry = new ModelRegistry(config, log);

const LISTENERS: Record<string, AppApis> = {
  inference: { inference: { workers, guards: [] } },
  management: { management: { registry, guards: [] } },
  shared: { inference: { workers, guards: [] }, management: { registry, guards: [] } },
};

function app(apis: AppApis): Koa {
  return buildApp(config, log, apis, undefined, { active: false });
}

/** `/predictions/:model{/:version}{/*rest}` → its OpenAPI templates, parameters as `{}`. */
function templates(koaPath: string): string[] {
  // A wildcard group takes any further segments, which the route ignores: not a route of its own.
  const path = koaPath.replace(/\{\/\*\w+\}$/, '');
  const group = /\{([^{}]*)\}/.exec(path);
  if (group) {
    const [before, after] = [path.slice(0, group.index), path.slice(group.index + group[0].length)];
    return [...templates(before + after), ...templates(before + group[1] + after)];
  }
  return [path.replace(/:\w+/g, '{}')];
}

const docTemplate = (p: string) => p.replace(/\{[^}]+\}/g, '{}');

/** Method → templates, from every router layer that is a route (not `router.use` middleware). */
function served(a: Koa): Array<{ path: string; methods: string[] }> {
  const out: Array<{ path: string; methods: string[] }> = [];
  for (const mw of a.middleware) {
    const router = (mw as { router?: Router }).router;
    if (!router) continue;
    for (const layer of router.stack) {
      if (layer.methods.length === 0) continue;
      // router.all lists every method Node knows; get adds HEAD.
      const methods = layer.methods.length > 20 ? [ANY] : [...new Set(layer.methods.filter((m) => m !== 'HEAD'))];
      for (const path of templates(layer.path as string)) out.push({ path, methods });
    }
  }
  return out;
}

function documented(doc: Json): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const methods = out.get(docTemplate(path)) ?? new Set<string>();
    for (const m of Object.keys(item)) methods.add(m.toUpperCase());
    out.set(docTemplate(path), methods);
  }
  return out;
}

describe('served routes equal the OpenAPI route table', () => {
  for (const [name, apis] of Object.entries(LISTENERS)) {
    describe(`${name} listener`, () => {
      const koa = app(apis);
      const doc = apiDescription({ inference: Boolean(apis.inference), management: Boolean(apis.management) });
      let base = '';
      let close = () => undefined as void;
      before(async () => {
        const server = koa.listen(0, '127.0.0.1');
        await new Promise((resolve) => server.once('listening', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        close = () => void server.close();
      });
      after(() => close());

      it('every served path is documented, with every method a route names', () => {
        const docs = documented(doc);
        for (const { path, methods } of served(koa)) {
          const have = docs.get(path);
          assert.ok(have, `served but not documented: ${path}`);
          for (const m of methods) if (m !== ANY) assert.ok(have.has(m), `served but not documented: ${m} ${path}`);
        }
      });

      it('every documented operation is routed (no 404 ResourceNotFound, no 405)', async () => {
        for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
          const url = base + path.replace('{model_name}', 'm').replace('{model_version}', '1').replace('{file}', path.startsWith('/console/') ? 'console.js' : 'init.js');
          for (const method of Object.keys(item)) {
            const res = await fetch(url, { method: method.toUpperCase() });
            const body = await res.text();
            const where = `${method.toUpperCase()} ${path}: ${res.status} ${body.slice(0, 120)}`;
            assert.notEqual(res.status, 405, where);
            assert.ok(!(res.status === 404 && body.includes('ResourceNotFoundException')), where);
          }
        }
      });

      it('no documented path is missing from the routers', () => {
        const paths = new Set(served(koa).map((r) => r.path));
        for (const path of documented(doc).keys()) assert.ok(paths.has(path), `documented but not served: ${path}`);
      });
    });
  }

  it('templates expands optional groups and drops a trailing wildcard', () => {
    assert.deepEqual(templates('/predictions/:model{/:version}{/*rest}'), ['/predictions/{}', '/predictions/{}/{}']);
    assert.deepEqual(templates('/models/:name'), ['/models/{}']);
    assert.deepEqual(templates('/ping'), ['/ping']);
  });
});
