// OpenAI's error shape for the OpenAI-compatible routes (/v1/...), so its SDKs (openai, LangChain,
// LlamaIndex) read our errors as their own: `{"error": {"message", "type", "param", "code"}}` with the
// catalogue's status (docs/api.md, "OpenAI-compatible embeddings"). The catalogue stays the one source
// of codes: `code` is the catalogue code in lower case (`model_not_found`, `bad_request`).
import { ServerError, type ErrorCode } from '../errors.js';

export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** A catalogue error that names the request field it is about (OpenAI's `param`). */
export class ParamError extends ServerError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly param: string,
  ) {
    super(code, message);
  }
}

/** A 400 BAD_REQUEST about field `param`. */
export const invalidParam = (param: string, message: string): ParamError => new ParamError('BAD_REQUEST', message, param);

/** The same error, naming field `param` (e.g. the router's 404 for an unknown `model`). */
export function aboutParam(err: unknown, param: string): unknown {
  return err instanceof ServerError && !(err instanceof ParamError) ? new ParamError(err.code, err.message, param) : err;
}

export const isOpenAiPath = (path: string): boolean => path === '/v1' || path.startsWith('/v1/');

/** OpenAI's types: `invalid_request_error` for what the client can fix (4xx), `server_error` otherwise. */
export function openAiErrorBody(e: ServerError): OpenAiErrorBody {
  return {
    error: {
      message: e.shown,
      type: e.status < 500 ? 'invalid_request_error' : 'server_error',
      param: e instanceof ParamError ? e.param : null,
      code: e.code.toLowerCase(),
    },
  };
}
