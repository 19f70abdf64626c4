// The local EventBridge: events put on a bus (PutEvents through local/aws-endpoints.ts, or Step Functions'
// own status changes on the default bus) are matched against the rules of the synthesized template and
// delivered to their targets — a state machine is started as the rule's role, a Lambda function invoked
// asynchronously — as EventBridge does with the deployed rules.
import { randomUUID } from 'node:crypto';
import type { LocalDeployment, LocalRule } from './deployment.js';
import type { IamJudge } from './iam.js';
import type { LocalLambda } from './lambda.js';
import type { LocalWorkflowEngine } from './workflow-runner.js';

type Json = any;

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Json;
}

export interface LocalEventBusOptions {
  readonly deployment: LocalDeployment;
  readonly engine: LocalWorkflowEngine;
  readonly lambda: LocalLambda;
  readonly judge: IamJudge;
  /** Rules left disabled (tests that drive updates by hand turn the ReleasePublished rule off). */
  readonly disabled?: (rule: LocalRule) => boolean;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

export class LocalEventBus {
  /** Every event put on a bus of the control plane, newest last (tests and the demo). */
  readonly events: (BusEvent & { eventBusName: string })[] = [];
  private readonly deliveries = new Set<Promise<void>>();

  constructor(private readonly opts: LocalEventBusOptions) {}

  /** PutEvents: one entry; answers the event id. */
  async put(entry: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string; Resources?: string[] }): Promise<string> {
    const { deployment } = this.opts;
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': String(entry.DetailType ?? ''),
      source: String(entry.Source ?? ''),
      account: deployment.account,
      time: new Date().toISOString(),
      region: deployment.region,
      resources: entry.Resources ?? [],
      detail: JSON.parse(entry.Detail ?? '{}'),
    };
    const bus = String(entry.EventBusName ?? 'default').replace(/^arn:.*:event-bus\//, '');
    this.deliver(bus, event);
    return event.id;
  }

  /** Step Functions' "Execution Status Change" events, on the default bus. */
  async statusChange(event: Record<string, unknown>): Promise<void> {
    await this.deliver('default', { ...(event as unknown as BusEvent), account: this.opts.deployment.account, region: this.opts.deployment.region }, true);
  }

  /** Resolves once every delivery under way has been made. */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  private deliver(bus: string, event: BusEvent, wait = false): Promise<void> {
    this.events.push({ ...event, eventBusName: bus });
    const rules = this.opts.deployment.rules.filter(
      (r) => r.enabled && r.eventBusName === bus && r.eventPattern && !this.opts.disabled?.(r) && matches(event, r.eventPattern),
    );
    const work = Promise.all(rules.flatMap((rule) => rule.targets.map((t) => this.target(rule, t, event)))).then(() => undefined);
    const tracked = work.finally(() => this.deliveries.delete(tracked));
    this.deliveries.add(tracked);
    return wait ? tracked : Promise.resolve();
  }

  private async target(rule: LocalRule, target: LocalRule['targets'][number], event: BusEvent): Promise<void> {
    const { engine, lambda, judge } = this.opts;
    const input = target.input !== undefined ? JSON.parse(target.input) : event;
    try {
      if (target.arn.includes(':states:') && target.arn.includes(':stateMachine:')) {
        const kind = engine.kindOfStateMachine(target.arn);
        if (!kind) throw new Error(`no local state machine ${target.arn}`);
        const principal = target.roleArn ? judge.principalOfRole(target.roleArn) : undefined;
        if (!principal) throw new Error(`rule ${rule.logicalId} has no role for ${target.arn}`);
        const judgement = await judge.authorize(principal, { action: 'states:StartExecution', resource: target.arn });
        if (!judgement.allowed) throw Object.assign(new Error(judgement.message), { name: 'AccessDeniedException' });
        await engine.start(kind, randomUUID(), input);
      } else if (target.arn.includes(':lambda:')) {
        // Asynchronous invocation; the function's own retries and DLQ are AWS's business, not this bus's.
        await lambda.invoke(target.arn, input);
      } else {
        throw new Error(`the local bus cannot deliver to ${target.arn}`);
      }
    } catch (e) {
      this.opts.log?.('rule target failed', { rule: rule.logicalId, target: target.arn, eventId: event.id, error: String(e) });
    }
  }
}

/** EventBridge content filtering for the pattern forms the stack uses: values, prefix, exists, nesting. */
export function matches(event: Json, pattern: Json): boolean {
  for (const [key, expected] of Object.entries(pattern as Record<string, Json>)) {
    const actual = event?.[key];
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      const ok = expected.some((p: Json) => {
        if (p !== null && typeof p === 'object') {
          if ('prefix' in p) return values.some((v) => typeof v === 'string' && v.startsWith(String(p.prefix)));
          if ('exists' in p) return p.exists ? actual !== undefined : actual === undefined;
          if ('anything-but' in p) {
            const but = Array.isArray(p['anything-but']) ? p['anything-but'] : [p['anything-but']];
            return actual !== undefined && values.every((v) => !but.includes(v));
          }
          return false;
        }
        return values.some((v) => v === p);
      });
      if (!ok) return false;
    } else if (expected !== null && typeof expected === 'object') {
      if (actual === null || typeof actual !== 'object' || !matches(actual, expected)) return false;
    } else return false;
  }
  return true;
}
