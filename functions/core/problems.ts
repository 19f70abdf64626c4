// RFC 9457 problem documents: the one error type that crosses the HTTP boundary. Handlers throw
// ProblemError; the HTTP wrapper and the API Gateway gateway responses render the same shape.

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_PREFIX = 'urn:dcp:problem:';

/** Bounds of a problem document (the OpenAPI Problem schema states them; problemDocument keeps them). */
export const MAX_PROBLEM_ERRORS = 100;
export const PROBLEM_LIMITS = { type: 96, title: 64, detail: 4096, code: 64, instance: 160, field: 1024 } as const;

/** Cut a text to `max` characters, marking the cut; control characters become spaces. */
function bounded(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u001f]/g, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly extra?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
  }

  toDocument(): ProblemDocument {
    return problemDocument(this.status, this.code, this.detail, this.errors, this.extra);
  }
}

export function problemDocument(
  status: number,
  code: string,
  detail: string,
  errors?: FieldError[],
  extra?: Record<string, unknown>,
): ProblemDocument {
  return {
    ...(extra ?? {}),
    type: `${PROBLEM_TYPE_PREFIX}${code}`,
    title: titleFor(status),
    status,
    detail: bounded(detail, PROBLEM_LIMITS.detail),
    code,
    ...(errors && errors.length > 0
      ? { errors: errors.slice(0, MAX_PROBLEM_ERRORS).map((e) => ({ path: bounded(e.path, PROBLEM_LIMITS.field), message: bounded(e.message, PROBLEM_LIMITS.field) })) }
      : {}),
  };
}

// Convenience constructors for the common cases, so codes stay consistent across handlers.
export const problems = {
  validation: (errors: FieldError[], detail = 'The request is not valid.') =>
    new ProblemError(400, 'VALIDATION_FAILED', detail, errors),
  malformedJson: (detail: string) => new ProblemError(400, 'MALFORMED_JSON', detail),
  badCursor: () => new ProblemError(400, 'INVALID_CURSOR', 'The pagination cursor is not valid.'),
  unauthorized: () =>
    new ProblemError(401, 'UNAUTHORIZED', 'A valid bearer token is required (Authorization: Bearer <token>).'),
  forbidden: (detail = 'The token does not carry a scope that allows this operation.') =>
    new ProblemError(403, 'FORBIDDEN', detail),
  notFound: (code: string, detail: string) => new ProblemError(404, code, detail),
  conflict: (code: string, detail: string) => new ProblemError(409, code, detail),
  preconditionFailed: (detail: string) => new ProblemError(412, 'PRECONDITION_FAILED', detail),
  preconditionRequired: () =>
    new ProblemError(428, 'PRECONDITION_REQUIRED', 'This write requires an If-Match header with the current ETag.'),
  tooLarge: (limit: number) =>
    new ProblemError(413, 'PAYLOAD_TOO_LARGE', `Request bodies are limited to ${limit} bytes.`),
  unsupportedMediaType: () =>
    new ProblemError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be application/json.'),
};

/**
 * API Gateway's own answers (authorizer denials, throttling, unmatched routes, integration failures),
 * rendered as problem documents. The CDK stack configures these as gateway responses and the local server
 * answers the same way, so clients see one error shape.
 */
export const GATEWAY_RESPONSES = [
  { type: 'UNAUTHORIZED', status: 401, code: 'UNAUTHORIZED', detail: 'A valid bearer token is required (Authorization: Bearer <token>).' },
  { type: 'ACCESS_DENIED', status: 403, code: 'FORBIDDEN', detail: 'The token is not allowed to call this operation.' },
  { type: 'MISSING_AUTHENTICATION_TOKEN', status: 404, code: 'ROUTE_NOT_FOUND', detail: 'No route matches this method and path.' },
  { type: 'THROTTLED', status: 429, code: 'THROTTLED', detail: 'Too many requests; retry later.' },
  { type: 'QUOTA_EXCEEDED', status: 429, code: 'QUOTA_EXCEEDED', detail: 'The request quota is exhausted.' },
  { type: 'REQUEST_TOO_LARGE', status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The request is too large.' },
  { type: 'BAD_REQUEST_BODY', status: 400, code: 'VALIDATION_FAILED', detail: 'The request body is not valid.' },
  { type: 'AUTHORIZER_FAILURE', status: 500, code: 'AUTHORIZER_FAILURE', detail: 'The authorizer failed; retry later.' },
  { type: 'INTEGRATION_TIMEOUT', status: 504, code: 'INTEGRATION_TIMEOUT', detail: 'The operation timed out.' },
  { type: 'DEFAULT_4XX', status: undefined, code: 'CLIENT_ERROR', detail: 'The request was refused.' },
  { type: 'DEFAULT_5XX', status: undefined, code: 'SERVER_ERROR', detail: 'The service failed; retry later.' },
] as const;
