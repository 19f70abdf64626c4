// Fault injection for the local runtime (SPEC §7.3): `POST /local/faults` arms a failure of one command
// type or one step for one target, `times` times. The simulated agent consults it for commands and the
// workflow runner for steps, so retries, catches and the block branch can be exercised end to end.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import * as z from 'zod';
import { zodErrors } from '../functions/api/lib/http.js';
import { parseJsonStrict } from '../functions/core/json.js';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE, problemDocument } from '../functions/core/problems.js';
import { identifier } from '../functions/core/schemas/common.js';
import { COMMAND_TYPES, STEPS, type CommandType } from '../functions/core/workflows.js';

export type FaultKind = 'transient' | 'permanent';

export interface Fault {
  id: string;
  targetId: string;
  command?: CommandType;
  step?: string;
  kind: FaultKind;
  /** How many more times it fires; the fault is gone when this reaches 0. */
  times: number;
  createdAt: string;
}

export const FAULTS_PATH = '/local/faults';

const STATE_NAMES = [...new Set(STEPS.map((s) => s.state))] as [string, ...string[]];

export const faultBody = z
  .strictObject({
    targetId: identifier,
    command: z.enum(COMMAND_TYPES).optional(),
    step: z.enum(STATE_NAMES, { error: `must be a state name: ${STATE_NAMES.join(', ')}` }).optional(),
    kind: z.enum(['transient', 'permanent']),
    times: z.number().int().min(1).max(1000).default(1),
  })
  .refine((b) => (b.command === undefined) !== (b.step === undefined), { message: 'give exactly one of command or step' });
export type FaultBody = z.input<typeof faultBody>;

/** Armed faults, in memory: they are a test tool and do not survive a restart. */
export class FaultRegistry {
  private readonly faults: Fault[] = [];

  add(body: z.output<typeof faultBody>, now = new Date()): Fault {
    const fault: Fault = {
      id: randomUUID(),
      targetId: body.targetId,
      ...(body.command !== undefined ? { command: body.command } : {}),
      ...(body.step !== undefined ? { step: body.step } : {}),
      kind: body.kind,
      times: body.times,
      createdAt: now.toISOString(),
    };
    this.faults.push(fault);
    return { ...fault };
  }

  list(targetId?: string): Fault[] {
    return this.faults.filter((f) => targetId === undefined || f.targetId === targetId).map((f) => ({ ...f }));
  }

  /** Remove the faults of one target, or all. Answers how many were removed. */
  clear(targetId?: string): number {
    let removed = 0;
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (targetId === undefined || this.faults[i]!.targetId === targetId) {
        this.faults.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  /**
   * The kind of the oldest fault armed for this target and command or step, spending one of its `times`;
   * undefined when none is armed.
   */
  take(targetId: string, what: { command: string } | { step: string }): FaultKind | undefined {
    const i = this.faults.findIndex(
      (f) => f.targetId === targetId && ('command' in what ? f.command === what.command : f.step === what.step),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    fault.times -= 1;
    if (fault.times <= 0) this.faults.splice(i, 1);
    return fault.kind;
  }
}

type Authorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

function problem(status: number, code: string, detail: string, errors?: ReturnType<typeof zodErrors>): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' },
    body: JSON.stringify(problemDocument(status, code, detail, errors)),
  };
}

function gateway(type: 'UNAUTHORIZED' | 'ACCESS_DENIED' | 'AUTHORIZER_FAILURE'): APIGatewayProxyResult {
  const g = GATEWAY_RESPONSES.find((r) => r.type === type)!;
  return problem(g.status ?? 500, g.code, g.detail);
}

function json(status: number, body?: unknown): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/** The token's scopes through the same REQUEST authorizer API Gateway runs, or the refusal to answer. */
async function authorize(method: string, path: string, req: IncomingMessage): Promise<string[] | APIGatewayProxyResult> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const { handler } = (await import('../functions/api/authorizer.js')) as { handler: Authorizer };
  try {
    const result = await handler({
      type: 'REQUEST',
      methodArn: `arn:aws:execute-api:local:000000000000:dcp/local/${method}${path}`,
      resource: path,
      path,
      httpMethod: method,
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
      pathParameters: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
      requestContext: { stage: 'local', httpMethod: method, resourcePath: path } as never,
    } as APIGatewayRequestAuthorizerEvent);
    return String(result.context?.scopes ?? '').split(' ').filter(Boolean);
  } catch (e) {
    if (e instanceof Error && e.message === 'Unauthorized') return gateway('UNAUTHORIZED');
    return gateway('AUTHORIZER_FAILURE');
  }
}

/**
 * The local server's `extra` handler for /local/faults (admin token): POST arms a fault (201), GET lists
 * them (`?targetId=` filters), DELETE removes them (`?targetId=` limits it). Other paths answer undefined
 * so the route table handles them.
 */
export function faultsRoute(registry: FaultRegistry) {
  return async (method: string, path: string, req: IncomingMessage, body: Buffer): Promise<APIGatewayProxyResult | undefined> => {
    if (path !== FAULTS_PATH) return undefined;
    if (!['GET', 'POST', 'DELETE'].includes(method)) {
      return problem(405, 'METHOD_NOT_ALLOWED', `${FAULTS_PATH} answers GET, POST and DELETE.`);
    }
    const scopes = await authorize(method, path, req);
    if (!Array.isArray(scopes)) return scopes;
    if (!scopes.includes('admin')) return problem(403, 'FORBIDDEN', 'Fault injection needs an admin token.');

    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const targetId = query.get('targetId') ?? undefined;
    if (method === 'GET') return json(200, { items: registry.list(targetId) });
    if (method === 'DELETE') {
      registry.clear(targetId);
      return json(204);
    }

    const contentType = req.headers['content-type'];
    if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
      return problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be application/json.');
    }
    let parsed: unknown;
    try {
      parsed = parseJsonStrict(body.toString('utf8'));
    } catch (e) {
      return problem(400, 'MALFORMED_JSON', `The body is not valid JSON: ${(e as Error).message}.`);
    }
    const r = faultBody.safeParse(parsed);
    if (!r.success) {
      return problem(400, 'VALIDATION_FAILED', 'The request is not valid.', zodErrors(r.error));
    }
    return json(201, registry.add(r.data));
  };
}
