// IAM for the local runtime: every AWS call a function makes is judged against the policies of the
// function's own role, as synthesized (local/deployment.ts), before the local service answers it. Evaluation
// is @cloud-copilot/iam-simulate's — AWS's documented evaluation logic (explicit deny, allow, wildcards,
// condition operators, unknown actions refused) — used unmodified, as a development dependency of the local
// runtime and the tests only; it is never bundled into a Lambda function (docs/decisions.md says why that is
// acceptable under its AGPL-3.0 licence).
//
// Every allow is also counted per statement: `npm run check:grants` reads that report to show which grants
// the test suite used, and drops one statement at a time (DCP_IAM_DROP) to show that a test then fails.
import { appendFileSync } from 'node:fs';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { LocalDeployment, LocalRole, PolicyStatement } from './deployment.js';
import { localCredentials } from './lambda.js';

export interface AuthRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

export interface Judgement {
  readonly allowed: boolean;
  /** AWS's AccessDeniedException message when refused. */
  readonly message?: string;
}

/** The identity of the local runtime's own code (recovery, tests): not a function, so not restricted. */
export const RUNTIME_CREDENTIALS = { accessKeyId: 'LOCALRUNTIMEADMIN', secretAccessKey: 'local-runtime', sessionToken: 'local-runtime' };

export type Principal = { kind: 'runtime' } | { kind: 'role'; role: LocalRole };

/** `{policy name}#{statement index}` of a role's statement, as the grants report names it. */
export type StatementId = string;

/**
 * Actions the Service Authorization Reference lists without resource types (so a policy would need
 * `Resource: "*"`), which Step Functions nevertheless authorizes against the state machine of the task
 * token: a grant on the state machine ARN works for callback tasks (aws/aws-cdk#8486, review of
 * grantTaskResponse) and a denial names that ARN (NOAA-OWP/hydrovis#837). They are judged against the
 * state machine, without the library's resource-type validation.
 */
const JUDGED_ON_STATE_MACHINE = new Set(['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']);

interface PreparedRole {
  role: LocalRole;
  policies: { name: string; policy: { Version: string; Statement: PolicyStatement[] } }[];
}

export class IamJudge {
  private readonly byKey = new Map<string, PreparedRole>();
  private readonly byArn = new Map<string, PreparedRole>();
  private readonly cache = new Map<string, { allowed: boolean; statements: StatementId[] }>();
  /** role logical id → statement → calls it allowed. */
  readonly usage = new Map<string, Map<StatementId, number>>();

  constructor(
    deployment: LocalDeployment,
    /** `roleLogicalId:policyName#index` statements to leave out (check:grants). */
    private readonly drop: ReadonlySet<string> = parseDrop(process.env.DCP_IAM_DROP),
    /** Where each allow is appended as a JSON line (check:grants), if anywhere. */
    private readonly usageFile: string | undefined = process.env.DCP_IAM_USAGE_FILE,
  ) {
    for (const role of Object.values(deployment.roles)) {
      const prepared: PreparedRole = {
        role,
        policies: role.policies.map((p) => ({
          name: p.name,
          policy: {
            Version: '2012-10-17',
            // Each statement carries its index as Sid, so an allow says which statement granted it.
            Statement: p.document.Statement.map((s, i) => ({ ...s, Sid: `S${i}` })).filter((_, i) => !drop.has(`${role.logicalId}:${p.name}#${i}`)),
          },
        })),
      };
      this.byKey.set(localCredentials(role.arn).accessKeyId, prepared);
      this.byArn.set(role.arn, prepared);
    }
  }

  /** The caller named by a SigV4 Authorization header (`Credential=<access key id>/...`). */
  principalOf(authorization: string | undefined): Principal | undefined {
    const key = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
    if (!key) return undefined;
    if (key === RUNTIME_CREDENTIALS.accessKeyId) return { kind: 'runtime' };
    const prepared = this.byKey.get(key);
    return prepared ? { kind: 'role', role: prepared.role } : undefined;
  }

  principalOfRole(roleArn: string): Principal | undefined {
    const prepared = this.byArn.get(roleArn);
    return prepared ? { kind: 'role', role: prepared.role } : undefined;
  }

  /** Judge one request of `principal`; identity policies only (the stack uses no resource policies here). */
  async authorize(principal: Principal, request: AuthRequest): Promise<Judgement> {
    if (principal.kind === 'runtime') return { allowed: true };
    const prepared = this.byArn.get(principal.role.arn)!;
    const key = `${prepared.role.logicalId}\n${request.action}\n${request.resource}\n${JSON.stringify(request.context ?? {})}`;
    let result = this.cache.get(key);
    if (!result) {
      result = await this.simulate(prepared, request);
      this.cache.set(key, result);
    }
    if (result.allowed) {
      const counts = this.usage.get(prepared.role.logicalId) ?? new Map<StatementId, number>();
      this.usage.set(prepared.role.logicalId, counts);
      for (const s of result.statements) {
        counts.set(s, (counts.get(s) ?? 0) + 1);
        if (this.usageFile) {
          appendFileSync(this.usageFile, `${JSON.stringify({ role: prepared.role.logicalId, statement: s, action: request.action, resource: request.resource, test: process.env.VITEST_TEST_FILE ?? process.env.DCP_IAM_USAGE_LABEL })}\n`);
        }
      }
      return { allowed: true };
    }
    const sessionArn = prepared.role.arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/');
    return {
      allowed: false,
      message:
        `User: ${sessionArn}/local is not authorized to perform: ${request.action} on resource: ${request.resource} ` +
        `because no identity-based policy allows the ${request.action} action`,
    };
  }

  private async simulate(prepared: PreparedRole, request: AuthRequest): Promise<{ allowed: boolean; statements: StatementId[] }> {
    if (JUDGED_ON_STATE_MACHINE.has(request.action)) return this.simulateUnvalidated(prepared, request);
    const account = /^arn:aws:[^:]*:[^:]*:(\d{12}):/.exec(request.resource)?.[1] ?? /:iam::(\d{12}):/.exec(prepared.role.arn)?.[1] ?? '000000000000';
    const out = (await runSimulation(
      {
        request: {
          principal: prepared.role.arn,
          action: request.action,
          resource: { resource: request.resource, accountId: account },
          contextVariables: request.context ?? {},
        },
        identityPolicies: prepared.policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      } as never,
      {} as never,
    )) as unknown as SimulationOutput;
    if (out.resultType === 'error') {
      throw new Error(`IAM simulation failed for ${request.action} on ${request.resource}: ${JSON.stringify(out.errors)}`);
    }
    const analysis = out.result?.analysis;
    const allowed = out.overallResult === 'Allowed';
    const statements = allowed
      ? (analysis?.identityAnalysis?.allowStatements ?? []).map((s) => `${s.policyId}#${String(s.statement?.Sid ?? '').slice(1)}`)
      : [];
    return { allowed, statements };
  }

  private simulateUnvalidated(prepared: PreparedRole, request: AuthRequest): { allowed: boolean; statements: StatementId[] } {
    const account = /^arn:aws:[^:]*:[^:]*:(\d{12}):/.exec(request.resource)?.[1] ?? '000000000000';
    const run = (policies: PreparedRole['policies']) =>
      String(
        runUnsafeSimulation(
          {
            request: { principal: prepared.role.arn, action: request.action, resource: { resource: request.resource, accountId: account }, contextVariables: request.context ?? {} },
            identityPolicies: policies,
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          } as never,
          {},
        ),
      );
    const allowed = run(prepared.policies) === 'Allowed';
    if (!allowed) return { allowed, statements: [] };
    // Which statements allow it: each Allow statement alone (the library answers only the verdict here).
    const statements: StatementId[] = [];
    for (const p of prepared.policies) {
      for (const st of p.policy.Statement) {
        if (st.Effect !== 'Allow') continue;
        if (run([{ name: p.name, policy: { Version: '2012-10-17', Statement: [st] } }]) === 'Allowed') statements.push(`${p.name}#${String(st.Sid).slice(1)}`);
      }
    }
    return { allowed, statements };
  }
}

interface SimulationOutput {
  resultType: string;
  overallResult?: string;
  errors?: unknown;
  result?: { analysis?: { identityAnalysis?: { allowStatements?: { policyId: string; statement?: { Sid?: string } }[] } } };
}

function parseDrop(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}
