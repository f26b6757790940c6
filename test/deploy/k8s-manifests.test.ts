// docker/k8s: every YAML document parses and matches its API schema (Kubernetes kinds through
// kubernetes-models, generated from the Kubernetes OpenAPI spec; KServe's through the subset in
// helpers/kserve-schemas.ts), and the manifests agree with each other and with the server: probes
// on /ping, the HPA's metric is one we export, requests and limits hold the memory budget.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parseAllDocuments, parse } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Container, Service } from 'kubernetes-models/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { INFERENCE_SERVICE, SERVING_RUNTIME } from '../helpers/kserve-schemas.js';

const K8S = fileURLToPath(new URL('../../../docker/k8s/', import.meta.url));
const SOURCE = fileURLToPath(new URL('../../../', import.meta.url));

type Doc = Record<string, any>;

function documents(): Array<{ file: string; doc: Doc }> {
  const out: Array<{ file: string; doc: Doc }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) {
        for (const d of parseAllDocuments(readFileSync(p, 'utf8'))) {
          assert.deepEqual(d.errors, [], `${p}: ${d.errors.join('; ')}`);
          out.push({ file: path.relative(K8S, p), doc: d.toJS() as Doc });
        }
      }
    }
  };
  walk(K8S);
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: true });
const kserve = { ServingRuntime: ajv.compile(SERVING_RUNTIME), InferenceService: ajv.compile(INFERENCE_SERVICE) };

/** Validates a document against its kind's schema; throws naming the failures. */
function validate(doc: Doc): void {
  const spec = doc.spec as Doc;
  switch (`${doc.apiVersion} ${doc.kind}`) {
    case 'apps/v1 Deployment': return new Deployment(doc as any).validate();
    case 'v1 Service': return new Service(doc as any).validate();
    case 'v1 ConfigMap': return new ConfigMap(doc as any).validate();
    case 'autoscaling/v2 HorizontalPodAutoscaler': return new HorizontalPodAutoscaler(doc as any).validate();
    case 'serving.kserve.io/v1alpha1 ServingRuntime':
    case 'serving.kserve.io/v1beta1 InferenceService': {
      const check = kserve[doc.kind as keyof typeof kserve];
      if (!check(doc)) throw new Error(ajv.errorsText(check.errors));
      for (const c of spec.containers ?? []) new Container(c).validate();
      return;
    }
    default: throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  }
}

/** A Kubernetes memory quantity in bytes ("4Gi", "512Mi", "1G", "1000"). */
function bytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  assert.ok(m, `memory quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

describe('Kubernetes and KServe manifests', () => {
  const docs = documents();
  const kind = (k: string) => docs.filter((d) => d.doc.kind === k).map((d) => d.doc);

  it('parse and match their API schemas', () => {
    assert.deepEqual(docs.map((d) => d.doc.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'InferenceService', 'Service', 'ServingRuntime']);
    for (const { file, doc } of docs) assert.doesNotThrow(() => validate(doc), `${file} (${doc.kind})`);
  });

  it('the schema check refuses what the API server would', () => {
    const [deployment] = kind('Deployment');
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    assert.throws(() => validate(broken), /containerPort must be integer/);
    const [runtime] = kind('ServingRuntime');
    assert.throws(() => validate({ ...runtime, spec: { ...runtime.spec, protocolVersion: ['v2'] } }), /must NOT have additional properties/);
    const [isvc] = kind('InferenceService');
    assert.throws(() => validate({ ...isvc, spec: { predictor: { model: { ...isvc.spec.predictor.model, protocolVersion: 'v3' } } } }), /must be equal to one of the allowed values/);
  });

  it('the Deployment: probes on /ping, non-root, requests and limits that hold the memory budget', () => {
    const [d] = kind('Deployment');
    const pod = d.spec.template;
    assert.deepEqual(d.spec.selector.matchLabels, pod.metadata.labels);
    const [c] = pod.spec.containers;
    const ports = new Map(c.ports.map((p: Doc) => [p.name, p.containerPort]));
    assert.deepEqual([...ports.values()], [8080, 8081, 8082]);
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      assert.equal(probe.httpGet.path, '/ping');
      assert.equal(ports.get(probe.httpGet.port), 8080);
    }
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.match(readFileSync(path.join(SOURCE, 'docker', 'Dockerfile'), 'utf8'), new RegExp(`^USER ${pod.spec.securityContext.runAsUser}:`, 'm'));
    const budget = Number(c.env.find((e: Doc) => e.name === 'MMS_MODEL_MEMORY_BUDGET').value);
    const limit = bytes(c.resources.limits.memory);
    assert.equal(bytes(c.resources.requests.memory), limit, 'requests = limits: the budget is never overcommitted');
    assert.ok(budget > 0 && budget <= limit - 512 * 2 ** 20, 'the budget leaves room for the controller and fronts');
    assert.equal(pod.metadata.annotations['prometheus.io/port'], String(ports.get('metrics')));
    assert.ok(pod.spec.terminationGracePeriodSeconds > 30, 'longer than graceful_shutdown_timeout');
  });

  it('the Service and HPA point at the Deployment; the HPA scales on a metric we export', () => {
    const [d] = kind('Deployment');
    const [svc] = kind('Service');
    const [hpa] = kind('HorizontalPodAutoscaler');
    assert.deepEqual(svc.spec.selector, d.spec.template.metadata.labels);
    assert.ok(!svc.spec.ports.some((p: Doc) => p.port === 8081), 'the Management API is not exposed');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name });
    const metric = hpa.spec.metrics[0].pods.metric.name;
    const [adapter] = kind('ConfigMap');
    const rules = parse(adapter.data['config.yaml']).rules as Doc[];
    assert.ok(rules.some((r) => r.name.as === metric && r.seriesQuery.startsWith(`${metric}{`)), 'the adapter serves the metric');
    assert.match(readFileSync(path.join(SOURCE, 'frontend', 'inference', 'front-metrics.ts'), 'utf8'), new RegExp(`name: '${metric}'`));
  });

  it('KServe: the InferenceService names the runtime, which speaks v2 and serves its model format', () => {
    const [runtime] = kind('ServingRuntime');
    const [isvc] = kind('InferenceService');
    const model = isvc.spec.predictor.model;
    assert.equal(model.runtime, runtime.metadata.name);
    assert.equal(model.protocolVersion, 'v2');
    assert.ok(runtime.spec.protocolVersions.includes('v2'));
    assert.ok(runtime.spec.supportedModelFormats.some((f: Doc) => f.name === model.modelFormat.name));
    assert.equal(runtime.spec.containers[0].name, 'kserve-container');
  });
});
