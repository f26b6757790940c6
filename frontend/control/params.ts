// Typed access to Management API parameters from a query string or JSON object. Lenient like MMS
// (quoted numbers and booleans are accepted) but a value that is not what the parameter needs is a
// 400 naming it, never a silent default.
import type { Context } from 'koa';
import { badRequest } from '../errors.js';
import { readBody } from '../http/read-body.js';
import type { ParamSpec, ParamValue } from './registry/model-params.js';

/** A management request's JSON object body (at most 1 MiB); undefined when the body is empty. */
export async function jsonObject(ctx: Context): Promise<Record<string, unknown> | undefined> {
  const body = await readBody(ctx, 1 << 20);
  if (body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`Malformed JSON body: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('JSON body must be an object.');
  return parsed as Record<string, unknown>;
}

export class Params {
  constructor(private readonly source: Record<string, unknown>) {}

  private raw(name: string): unknown {
    const v = this.source[name];
    return Array.isArray(v) ? v[v.length - 1] : v;
  }

  string(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw badRequest(`Parameter ${name} must be a string.`);
    return v;
  }

  int(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw badRequest(`Parameter ${name} must be an integer, got ${JSON.stringify(v)}.`);
    return n;
  }

  /**
   * Every parameter of `specs` by its kind, as its field; an absent one takes its spec's default unless
   * the default comes from elsewhere first (the manifest: model-settings.ts picks), and a required one is
   * a 400 unless `requiredToo` is false (a repository load finds the url itself).
   */
  read<F extends string>(specs: readonly ParamSpec<F>[], requiredToo = true): Partial<Record<F, ParamValue>> {
    const out: Partial<Record<F, ParamValue>> = {};
    for (const spec of specs) {
      const v = spec.kind === 'int' ? this.int(spec.name) : spec.kind === 'bool' ? this.bool(spec.name) : this.string(spec.name);
      if (v === undefined && spec.required && requiredToo) throw badRequest(`Parameter ${spec.name} is required.`);
      const dflt = spec.defaultFrom === undefined ? spec.default : undefined;
      if (v !== undefined || dflt !== undefined) out[spec.field] = v ?? dflt;
    }
    return out;
  }

  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    throw badRequest(`Parameter ${name} must be true or false, got ${JSON.stringify(v)}.`);
  }
}
