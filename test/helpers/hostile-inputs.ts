// Tables of hostile requests for the sweep test (test/e2e/hostile-sweep.test.ts): bodies, tensors,
// headers, paths and management parameter values. Each case is one request; none may get a 5xx.
export interface HostileCase {
  label: string;
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

const json = { 'content-type': 'application/json' };

/** Values for query-string parameters, already percent-encoded where needed. */
export const QUERY_VALUES: string[] = [
  '-1', '0', '-0', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '-Infinity', '2147483648', '4294967296',
  '9007199254740993', '99999999999999999999', '9'.repeat(400), 'abc', '', '%20', 'true', 'null', '[]', '{}',
  'x'.repeat(5000), encodeURIComponent('日本語🙂'), encodeURIComponent('\u202egnp.exe'), '%00', '%ff', '%E0%A4%A',
  encodeURIComponent('../../../../etc/passwd'), encodeURIComponent('a;b|c`d$(e)'),
];

/** Values for JSON-body parameters. */
export const JSON_VALUES: unknown[] = [
  -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 2, 4294967296, '1', '-1', 'abc', '', true, false, null, [], [1, 2], {}, { a: 1 },
  nested(1000), 'x'.repeat(10_000), '日本語🙂', '\u0000', '../../../etc/passwd',
];

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** `{"inputs":[{...input}]}` for the scale model's input `x` (FP32 [batch, 4]). */
function v2(input: Record<string, unknown>): string {
  return JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], ...input }] });
}

/** A binary-extension body: JSON header + `tail`, with the header length as sent. */
function binary(label: string, path: string, head: unknown, tail: Buffer, length?: string | string[]): HostileCase {
  const header = Buffer.from(JSON.stringify(head));
  return { label, method: 'POST', path, headers: { 'inference-header-content-length': length ?? String(header.length) }, body: Buffer.concat([header, tail]) };
}

/** Hostile bodies, tensors and headers for one inference path of the scale model. */
export function inferenceCases(path: string, withDeep = true): HostileCase[] {
  const post = (label: string, body: string | Buffer, headers: Record<string, string> = json): HostileCase => ({ label: `${path} ${label}`, method: 'POST', path, headers, body });
  const deep = 500_000;
  const binInput = (size: unknown, extra: Record<string, unknown> = {}) => ({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: size }, ...extra }] });
  return [
    post('garbage bytes', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256))),
    post('empty body', ''),
    ...['null', '[]', '{}', '"str"', '1', 'true', '{"inputs":null}', '{"inputs":{}}', '{"inputs":[null]}', '{"inputs":[1]}',
      '{"inputs":[{"name":1}]}', '{"inputs":[{"name":"x"}]}', '{"inputs":', '{"inputs":[{"name":"x",}]}', '\uFEFF{}', '{"a":1}'.repeat(1000)]
      .map((b) => post(`body ${b.slice(0, 30)}`, b)),
    post('invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    // 1 MB each, slow to parse: on one route only.
    ...(withDeep ? [
      post(`data nested ${deep} deep`, `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":${'['.repeat(deep)}1${']'.repeat(deep)}}]}`),
      post(`JSON nested ${deep} deep outside data`, `{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4],"parameters":${'['.repeat(deep)}${']'.repeat(deep)}}]}`),
    ] : []),
    ...[[0, 4], [1, 0], [-1, 4], [1e9, 4], [2 ** 53, 4], [1e308, 4], [1.5, 4], ['1', 4], [], [1, 4, 1], [null, 4], [1, -4]]
      .map((shape) => post(`shape ${JSON.stringify(shape)}`, v2({ shape }))),
    ...[null, 'abc', 4, { 0: 1 }].map((shape) => post(`shape ${JSON.stringify(shape)}`, v2({ shape }))),
    ...['fp32', 'FP32 ', 'BYTES', 'BOOL', 'INT64', 'FP16', 'UINT64', '', null, 7, '__proto__', 'constructor', 'toString', 'x'.repeat(5000)]
      .map((datatype) => post(`datatype ${JSON.stringify(datatype).slice(0, 20)}`, v2({ datatype }))),
    ...[null, 'abcd', 1, {}, [1, 2, 3], [1, 2, 3, 4, 5], ['a', 'b', 'c', 'd'], [{}, {}, {}, {}], [[1, 2], [3, 4]], [[[[1, 2, 3, 4]]]], [true, false, 1, 0]]
      .map((data) => post(`data ${JSON.stringify(data)}`, v2({ data }))),
    ...[1, null, ['x'], [{ name: 'nope' }], [{ name: 5 }], 'y'].map((outputs) => post(`outputs ${JSON.stringify(outputs)}`, JSON.stringify({ ...JSON.parse(v2({})), outputs }))),
    post('input twice', JSON.stringify({ inputs: [JSON.parse(v2({})).inputs[0], JSON.parse(v2({})).inputs[0]] })),
    post('parameters not an object', v2({ parameters: 'x' })),
    post('content-type utf-16', v2({}), { 'content-type': 'application/json; charset=utf-16' }),
    post('multipart without boundary', v2({}), { 'content-type': 'multipart/form-data' }),
    post('multipart garbage', 'not multipart at all', { 'content-type': 'multipart/form-data; boundary=xyz' }),
    post('multipart truncated', '--xyz\r\nContent-Disposition: form-data; name="a"; filename="a.json"\r\nContent-Type: application/json\r\n\r\n{"inputs":[', { 'content-type': 'multipart/form-data; boundary=xyz' }),
    ...multipartCases().map(([label, body]) => post(`multipart ${label}`, body, { 'content-type': 'multipart/form-data; boundary=XX' })),
    post('form urlencoded garbage', '%%%&&==&%zz=%', { 'content-type': 'application/x-www-form-urlencoded' }),
    post('content-type garbage', v2({}), { 'content-type': ';;;/;=' }),
    post('content-type very long', v2({}), { 'content-type': `application/${'x'.repeat(8000)}` }),
    ...['-1', 'abc', '1e3', '', ' 10', '99999999999', '1.5', '0x10', '9'.repeat(400)].map((len) =>
      binary(`${path} header length ${JSON.stringify(len)}`, path, binInput(16), Buffer.alloc(16), len)),
    binary(`${path} header length twice`, path, binInput(16), Buffer.alloc(16), ['10', '20']),
    ...[-1, 1.5, 2 ** 53, '16', null, 1e308, 12, 20].map((size) => binary(`${path} binary_data_size ${size}`, path, binInput(size), Buffer.alloc(16))),
    binary(`${path} binary with trailing bytes`, path, binInput(16), Buffer.alloc(40)),
    binary(`${path} binary BYTES garbage`, path, binInput(16, { datatype: 'BYTES' }), Buffer.alloc(16, 0xff)),
    binary(`${path} binary zero shape`, path, binInput(0, { shape: [0, 4] }), Buffer.alloc(0)),
    binary(`${path} binary huge shape`, path, binInput(16, { shape: [2 ** 40, 4] }), Buffer.alloc(16)),
    { label: `${path} GET without body`, method: 'GET', path },
    ...['PUT', 'DELETE', 'PATCH', 'HEAD', 'PROPFIND', 'TRACE'].map((method) => ({ label: `${path} ${method}`, method, path, body: method === 'HEAD' || method === 'TRACE' ? undefined : v2({}) })),
    { label: `${path} huge query value`, method: 'POST', path: `${path}?q=${'x'.repeat(12_000)}`, headers: json, body: v2({}) },
    { label: `${path} repeated query`, method: 'POST', path: `${path}?a=1&a=2&a=%ff&%zz=1&=&&`, headers: json, body: v2({}) },
    { label: `${path} header junk`, method: 'POST', path, headers: { ...json, 'x-request-id': '../../etc', 'inference-header-content-length': [], 'x-big': 'y'.repeat(8000) }, body: v2({}) },
  ];
}

/** Multipart bodies (boundary XX) with a part's name missing, empty, huge or odd, and odd part headers. */
function multipartCases(): Array<[string, string]> {
  const part = (disposition: string | undefined, value = 'abc', extra = '') =>
    `--XX\r\n${disposition === undefined ? '' : `Content-Disposition: ${disposition}\r\n`}${extra}\r\n${value}\r\n`;
  const body = (...parts: string[]) => `${parts.join('')}--XX--\r\n`;
  return [
    ['part without a name', body(part('form-data'))],
    ['file part without a name', body(part('form-data; filename="a.bin"'))],
    ['part with an empty name', body(part('form-data; name=""'))],
    ['part without Content-Disposition', body(part(undefined))],
    ['part not form-data', body(part('attachment; name="a"'))],
    ['part name 100 KB', body(part(`form-data; name="${'n'.repeat(100_000)}"`))],
    ['part name with CR LF', body(part('form-data; name="a\r\nb"'))],
    ['part name unquoted odd', body(part('form-data; name=a;b;c=;=;'))],
    ['part name non-ASCII', body(part("form-data; name*=UTF-8''%E6%97%A5%F0%9F%99%82"))],
    ['part name broken encoding', body(part("form-data; name*=UTF-8''%E0%A4%A"))],
    ['good part then nameless part', body(part('form-data; name="a"'), part('form-data'))],
    ['same name twice', body(part('form-data; name="a"'), part('form-data; name="a"', 'def'))],
    ['empty part value', body(part('form-data; name="a"', ''))],
    ['part content-type garbage', body(part('form-data; name="a"; filename="f"', 'abc', 'Content-Type: ;;;/;=\r\n'))],
    ['part header 20 KB', body(part('form-data; name="a"', 'abc', `X-Big: ${'y'.repeat(20_000)}\r\n`))],
    ['no parts', '--XX--\r\n'],
  ];
}

/**
 * Hostile `/v1/embeddings` requests for an embedding model `model` (and `other`, a model of another
 * handler): bodies, every field with hostile values, token arrays, content types, methods, headers.
 */
export function embeddingsCases(model: string, other: string): HostileCase[] {
  const path = '/v1/embeddings';
  const post = (label: string, body: string | Buffer, headers: Record<string, string | string[]> = json): HostileCase => ({ label: `${path} ${label}`, method: 'POST', path, headers, body });
  const field = (name: string, v: unknown) => post(`${name}=${JSON.stringify(v)?.slice(0, 30)}`, JSON.stringify({ model, input: 'Hello', [name]: v }));
  const deep = 500_000;
  return [
    post('garbage bytes', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256))),
    post('empty body', ''),
    ...['null', '[]', '{}', '"str"', '1', 'true', '{"model":', '\uFEFF{}', '{"a":1}'.repeat(1000), `{"model":"${model}","input":"x","input":1}`]
      .map((b) => post(`body ${b.slice(0, 30)}`, b)),
    post('invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    post(`input nested ${deep} deep`, `{"model":"${model}","input":${'['.repeat(deep)}"x"${']'.repeat(deep)}}`),
    ...['', 'nope', other, '../x', '%ff', '\u0000', 'x'.repeat(10_000), '日本語🙂', 1, null, [model], { name: model }]
      .map((m) => post(`model ${JSON.stringify(m).slice(0, 30)}`, JSON.stringify({ model: m, input: 'Hello' }))),
    ...JSON_VALUES.map((v) => field('input', v)),
    ...JSON_VALUES.map((v) => field('encoding_format', v)),
    ...JSON_VALUES.map((v) => field('dimensions', v)),
    ...[[1, 2, 3], [[1, 2], [3]], [-1], [1e308], [['a']], ['a', 1], ['a', null], ['a', ''], Array.from({ length: 2049 }, () => 'a'), ['\ud800'], ['x'.repeat(100_000)]]
      .map((v) => field('input', v)),
    ...['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', ';;;/;=', `application/${'x'.repeat(8000)}`]
      .map((type) => post(`content-type ${type.slice(0, 30)}`, JSON.stringify({ model, input: 'Hello' }), { 'content-type': type })),
    post('deadline header junk', JSON.stringify({ model, input: 'Hello' }), { ...json, 'x-request-deadline-ms': ['0', 'abc'] }),
    // Node's client frames a body only for PUT and PATCH (on the others the server's HTTP parser refuses the bytes).
    ...['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'].map((method) => ({ label: `${path} ${method}`, method, path, body: method === 'PUT' || method === 'PATCH' ? '{}' : undefined })),
    ...['/v1/models', `/v1/models/${model}`, `/v1/models/${other}`, '/v1/models/%ff', '/v1/models/%', '/v1/models/a/b', '/v1/models/..%2f..', `/v1/models/${'a'.repeat(8000)}`]
      .flatMap((p) => ['GET', 'POST', 'DELETE'].map((method) => ({ label: `${method} ${p.slice(0, 40)}`, method, path: p }))),
  ];
}

/** Paths no route should answer with a 5xx: unknown, traversal, percent-encoding garbage. */
export const ODD_PATHS: string[] = [
  '/nothing', '/predictions', '/predictions/', '/predictions/nope', '/predictions/../models', '/predictions/..%2f..%2fetc%2fpasswd',
  '/predictions/%2e%2e/%2e%2e', '/predictions/good/..', '/predictions/good/../../etc/passwd', '/predictions/good/%2e%2e%2f',
  '/predictions/good/1.0/extra/../..', '/predictions/%E0%A4%A', '/predictions/%', '/predictions/%zz', '/predictions/%00',
  '/predictions/good/%ff', '/predictions/good/%', '/models/%', '/models/%zz', '/models/%E0%A4%A', '/models/%00', '/models/..',
  '/models/../../etc/passwd', '/models/nope/invoke', '/models/%ff/invoke', '/models/a/b/c', '/invocations?model_name=%ff',
  '/invocations?model_name=..%2f..', '/invocations?model_name=nope', '/invocations?model_name=good&model_name=other',
  '/ping?detail=%ff', '/ping/../../x', '/%', '/%2e%2e', '//', '/./ping', '/api-description/%', `/${'x'.repeat(8000)}`,
  `/predictions/${'a'.repeat(8000)}`, `/models/${encodeURIComponent('日本語🙂')}`, '/models/%F0%9F%99', '/metrics',
  '/v1', '/v1/', '/v1/nothing', '/v1/embeddings/x', '/v1/models/%zz/x', '/v1/%', '/v1/../v2',
];
