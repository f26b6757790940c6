// Building blocks of the OpenAPI documents (openapi.ts, openapi-v2.ts): schema and parameter helpers
// and the route table's row type.
export type Json = Record<string, unknown>;
export type Listener = 'inference' | 'management';
export type Apis = { inference: boolean; management: boolean };

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
export const str = (extra: Json = {}): Json => ({ type: 'string', ...extra });
export const int = (extra: Json = {}): Json => ({ type: 'integer', ...extra });
export const bool = (extra: Json = {}): Json => ({ type: 'boolean', ...extra });
export const obj = (properties: Json, required: string[] = [], extra: Json = {}): Json => ({
  type: 'object',
  ...(required.length > 0 ? { required } : {}),
  properties,
  ...extra,
});
export const arr = (items: Json): Json => ({ type: 'array', items });

export function param(name: string, where: 'path' | 'query' | 'header', schema: Json, description: string, required = false): Json {
  return { name, in: where, description, required: where === 'path' ? true : required, schema };
}
export const modelNameParam = (): Json => param('model_name', 'path', str(), 'Name of the model.');
export const jsonBody = (schema: Json, description: string, required = true): Json => ({
  description,
  required,
  content: { 'application/json': { schema } },
});


export interface Route {
  method: 'get' | 'put' | 'post' | 'delete' | 'options';
  path: string;
  on: readonly Listener[];
  op: () => Json;
}
