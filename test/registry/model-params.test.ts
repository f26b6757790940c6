// The one list of model parameters (frontend/control/registry/model-params.ts) against everything
// said or done with them: the OpenAPI parameters of register and scale are the ones the routes parse
// (names and kinds), docs/api.md's register table lists exactly them, and the snapshot brings every
// saved setting back through a real snapshot file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Params } from '../../frontend/control/params.js';
import { REGISTER_PARAMS, SCALE_PARAMS, SAVED_PARAMS, savedSettings, shownSettings, type ParamSpec } from '../../frontend/control/registry/model-params.js';
import { modelSettings, type ModelSettings, type SettingsConfig } from '../../frontend/control/registry/model-settings.js';
import { SnapshotFile, entryParams } from '../../frontend/control/registry/snapshot.js';
import { ServerError } from '../../frontend/errors.js';
import { apiDescription } from '../../frontend/http/openapi.js';

type Json = Record<string, unknown>;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TYPE: Record<ParamSpec['kind'], string> = { string: 'string', enum: 'string', int: 'integer', bool: 'boolean' };
const JS_TYPE: Record<string, string> = { string: 'string', integer: 'number', boolean: 'boolean' };

/** An operation's query parameters: name → schema. */
function queryParams(p: string, method: string): Map<string, Json> {
  const paths = apiDescription({ inference: false, management: true }).paths as Record<string, Record<string, Json>>;
  const params = (paths[p]![method]!.parameters as Json[]).filter((x) => x.in === 'query');
  return new Map(params.map((x) => [x.name as string, x.schema as Json]));
}

/** A value the schema takes: what a client reading the document would send. */
function validValue(schema: Json): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.type === 'integer') return typeof schema.minimum === 'number' ? schema.minimum + (schema.maximum === schema.minimum ? 0 : 1) : 1;
  if (schema.type === 'boolean') return true;
  return 'x';
}

/** A value of another type than the schema's (in a JSON body, where every type can be sent). */
const wrongValue = (schema: Json): unknown => (schema.type === 'string' ? 5 : schema.type === 'integer' ? 'abc' : 'maybe');

function rejectsNaming(fn: () => unknown, name: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ServerError && err.status === 400 && err.message.includes(name), `a bad ${name} is a 400 naming it`);
}

/** The documented parameters are the parsed ones: the same names, each of the kind the parser reads. */
function assertDocumentedIsParsed(documented: Map<string, Json>, specs: readonly ParamSpec[]): void {
  assert.deepEqual([...documented.keys()].sort(), specs.map((s) => s.name).sort());
  for (const spec of specs) assert.equal(documented.get(spec.name)!.type, TYPE[spec.kind], spec.name);
  const source = Object.fromEntries([...documented].map(([name, schema]) => [name, validValue(schema)]));
  const parsed = new Params(source).read(specs);
  for (const spec of specs) {
    const value = parsed[spec.field];
    assert.equal(typeof value, JS_TYPE[documented.get(spec.name)!.type as string], `${spec.name} is read as documented`);
    assert.equal(value, source[spec.name], `${spec.name} is read as sent`);
    rejectsNaming(() => new Params({ ...source, [spec.name]: wrongValue(documented.get(spec.name)!) }).read(specs), spec.name);
  }
}

describe('model parameters', { timeout: 30_000 }, () => {
  it('the OpenAPI parameters of POST /models are the parsed ones', () => {
    const documented = queryParams('/models', 'post');
    assertDocumentedIsParsed(documented, REGISTER_PARAMS);
    for (const spec of REGISTER_PARAMS) assert.equal(documented.get(spec.name)!.default, spec.default, `${spec.name}: default`);
    const body = apiDescription({ inference: false, management: true }).components as { schemas: Record<string, Json> };
    assert.deepEqual(Object.keys(body.schemas.RegisterModelRequest!.properties as Json).sort(), [...documented.keys()].sort());
    rejectsNaming(() => new Params({}).read(REGISTER_PARAMS), 'Parameter url is required');
  });

  it('the OpenAPI parameters of PUT /models/{name} (and of a version) are the parsed ones', () => {
    assertDocumentedIsParsed(queryParams('/models/{model_name}', 'put'), SCALE_PARAMS);
    assertDocumentedIsParsed(queryParams('/models/{model_name}/{model_version}', 'put'), SCALE_PARAMS);
  });

  it("docs/api.md's register table lists every register parameter, and no other; the scale section names every scale parameter", () => {
    const api = readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
    const register = api.split('### Register: `POST /models`')[1]!.split('\n### ')[0]!;
    const table = register.split('\n\n').find((block) => block.startsWith('| Parameter |'))!;
    const rows = table.split('\n').slice(2).map((row) => /^\| `([a-z_]+)` \|/.exec(row)?.[1] ?? row);
    assert.deepEqual(rows.sort(), REGISTER_PARAMS.map((s) => s.name).sort());
    const scale = api.split('### Scale: `PUT /models/{name}`')[1]!.split('\n### ')[0]!;
    for (const spec of SCALE_PARAMS) assert.ok(scale.includes(`\`${spec.name}\``), `${spec.name} not in the Scale section`);
  });

  describe('snapshot', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mms-params-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const config: SettingsConfig = {
      defaultWorkersPerModel: 1, responseTimeout: 120, defaultServiceHandler: undefined, executionProvider: 'auto', preloadModel: false,
      preloadSessions: 1, loadOnFirstRequest: false, modelIdleTimeoutMs: 0, responseCache: { sizeBytes: 1000, ttlSeconds: 60 },
      cpuAffinity: false,
    };
    // Every saved setting away from what the configuration and an empty manifest give.
    const settings: ModelSettings = {
      name: 'm', version: '2.0', runtime: 'node', handler: 'h.js:run', batchSize: 8, maxBatchDelay: 7, responseTimeout: 30,
      loadedAtStartup: true, retryOnWorkerDeath: true, executionProvider: 'cpu', preload: true, sessions: 3, lazy: true,
      idleTimeoutMs: 600_000, responseCache: { sizeBytes: 4096, ttlSeconds: 5 }, cpuAffinity: true,
    };

    it('every setting a registration gives is saved by one parameter', () => {
      const fromParams = Object.keys(settings).filter((k) => !['name', 'version', 'loadedAtStartup', 'retryOnWorkerDeath'].includes(k));
      assert.deepEqual([...new Set(SAVED_PARAMS.map((s) => s.setting))].sort(), fromParams.sort());
    });

    it('round-trips every saved setting through the snapshot file', async () => {
      const owner = { modelStore: '/srv/models', configFile: null };
      const entry = { url: 'm', name: 'm', version: '2.0', isDefault: true, minWorkers: 2, maxWorkers: 3, loadedAtStartup: true, ...savedSettings(settings) };
      const file = new SnapshotFile(root, owner, pino({ level: 'silent' }));
      await file.save([entry]);
      await file.flush();
      const [read] = await new SnapshotFile(root, owner, pino({ level: 'silent' })).read();
      const params = entryParams(read!);
      assert.equal(params.initialWorkers, 2);
      assert.deepEqual(modelSettings(params, { runtime: 'onnx', model: {} }, config), settings);
    });

    it("describe's settings are the saved ones, each in the OpenAPI describe schema with its type", () => {
      const shown = shownSettings(settings);
      assert.deepEqual(Object.keys(shown).sort(), SAVED_PARAMS.filter((s) => !s.shown || s.shown(settings) !== undefined).map((s) => s.field).sort());
      const schemas = (apiDescription({ inference: false, management: true }).components as { schemas: Record<string, Json> }).schemas;
      const props = schemas.DescribeModelResponse!.properties as Record<string, Json>;
      for (const [key, value] of Object.entries(shown)) {
        assert.ok(props[key], `${key} not in DescribeModelResponse`);
        assert.equal(props[key]!.type, typeof value === 'number' ? 'integer' : typeof value, key);
      }
    });

    it('restores a response cache saved as one object (files written before the settings were saved one by one)', () => {
      const old = { url: 'm', name: 'm', isDefault: true, minWorkers: 0, maxWorkers: 0, loadedAtStartup: false, responseCache: { sizeBytes: 4096, ttlSeconds: 5 } };
      const restored = modelSettings(entryParams(old), { runtime: 'onnx', model: {} }, config);
      assert.deepEqual(restored.responseCache, { sizeBytes: 4096, ttlSeconds: 5 });
    });
  });
});
