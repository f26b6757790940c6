// The fields of one request, from wherever the client put them: a JSON body ({"text": ...},
// {"question": ..., "context": ...}, HF's {"inputs": ..., "parameters": {...}}), a text/plain body,
// form fields (urlencoded or multipart) or query-string parameters, as Mighty takes them. The JSON
// body wins over form and query values of the same name.
import { HandlerError, type InferenceInput } from '../../handler-api.js';

export const AGGREGATION_STRATEGIES = ['none', 'simple', 'first', 'average', 'max'] as const;
export type AggregationStrategy = (typeof AGGREGATION_STRATEGIES)[number];

export interface RequestFields {
  text?: string;
  question?: string;
  context?: string;
  /** undefined: not given in the request (the model's default applies). */
  truncation?: boolean;
  aggregationStrategy?: AggregationStrategy;
}

const NAMES = ['text', 'inputs', 'question', 'context', 'truncation', 'aggregation_strategy'] as const;

export function parseRequest(item: InferenceInput): RequestFields {
  const raw: Record<string, unknown> = {};
  const body = item.params.body;
  if (body && body.value.length > 0) Object.assign(raw, fromBody(body.contentType, body.value));
  for (const name of NAMES) {
    const part = item.params[name];
    if (raw[name] === undefined && part) raw[name] = part.value.toString('utf8');
  }
  // HF's {"inputs": "text"} and {"inputs": {"question", "context"}}.
  if (raw.inputs !== undefined) {
    if (isObject(raw.inputs)) {
      raw.question ??= raw.inputs.question;
      raw.context ??= raw.inputs.context;
    } else {
      raw.text ??= raw.inputs;
    }
  }
  if (raw.text === undefined && raw.question === undefined && raw.context === undefined) {
    throw new HandlerError(400, 'Request has no input: send {"text": "..."} (or {"question": "...", "context": "..."}) as a JSON body, or text as a form field or query parameter.');
  }
  return {
    text: optionalString(raw, 'text'),
    question: optionalString(raw, 'question'),
    context: optionalString(raw, 'context'),
    truncation: optionalBoolean(raw, 'truncation'),
    aggregationStrategy: optionalStrategy(raw.aggregation_strategy),
  };
}

function fromBody(contentType: string, value: Buffer): Record<string, unknown> {
  const text = value.toString('utf8');
  const type = contentType.toLowerCase();
  const json = type === 'application/json' || type.endsWith('+json');
  if (type.startsWith('text/')) return { text };
  if (!json && type && type !== 'application/octet-stream') {
    throw new HandlerError(400, `Unsupported content type ${contentType}: send JSON, text/plain or form fields.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Without a content type, a body that is not JSON is the text itself.
    if (!json) return { text };
    throw new HandlerError(400, 'Request body is not valid JSON.');
  }
  if (!json && typeof parsed !== 'object') return { text };
  if (typeof parsed === 'string') return { text: parsed };
  if (!isObject(parsed)) throw new HandlerError(400, 'JSON body must be an object such as {"text": "..."}.');
  // HF puts options under "parameters"; top-level keys win.
  const params = isObject(parsed.parameters) ? parsed.parameters : {};
  return { ...params, ...parsed };
}

function optionalString(raw: Record<string, unknown>, name: string): string | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HandlerError(400, `"${name}" must be a string, not ${Array.isArray(v) ? 'an array' : typeof v}.`);
  return v;
}

function optionalBoolean(raw: Record<string, unknown>, name: string): boolean | undefined {
  const v = raw[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|1|yes)$/i.test(v.trim())) return true;
  if (typeof v === 'string' && /^(false|0|no)$/i.test(v.trim())) return false;
  throw new HandlerError(400, `"${name}" must be true or false.`);
}

export function optionalStrategy(v: unknown): AggregationStrategy | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (s && (AGGREGATION_STRATEGIES as readonly string[]).includes(s)) return s as AggregationStrategy;
  throw new HandlerError(400, `"aggregation_strategy" must be one of ${AGGREGATION_STRATEGIES.join(', ')}.`);
}

/** The text of a single-text pipeline, present and not empty. */
export function requireText(fields: RequestFields): string {
  if (fields.text === undefined) throw new HandlerError(400, 'Missing "text".');
  if (fields.text.length === 0) throw new HandlerError(400, '"text" must not be empty.');
  return fields.text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
