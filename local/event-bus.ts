// The local stand-in for the control plane's EventBridge bus: events are matched against the same rule
// patterns the CDK stack deploys (functions/core/events.ts) and start the same state machines.
import { randomUUID } from 'node:crypto';
import type { EventPublisher } from '../functions/adapters/events.js';
import type { WorkflowEngine } from '../functions/adapters/engine.js';
import { EVENT_SOURCE, RELEASE_PUBLISHED_PATTERN, matchesPattern, type ControlPlaneEvent } from '../functions/core/events.js';
import { log } from '../functions/api/lib/log.js';

export class LocalEventBus implements EventPublisher {
  /** Every event put on the bus, newest last (for tests and the demo). */
  readonly events: ControlPlaneEvent[] = [];

  constructor(
    private readonly engine: WorkflowEngine,
    /** Whether the ReleasePublished rule is enabled (tests that drive updates by hand turn it off). */
    private readonly rolloutRule: boolean,
  ) {}

  async publish(detailType: string, detail: Record<string, unknown>): Promise<void> {
    const event: ControlPlaneEvent & { id: string } = { id: randomUUID(), source: EVENT_SOURCE, 'detail-type': detailType, detail, time: new Date().toISOString() };
    this.events.push(event);
    if (this.rolloutRule && matchesPattern(event, RELEASE_PUBLISHED_PATTERN)) {
      // Like the rule's target: the rollout state machine, with the event as its input.
      const name = `release-published-${event.id}`;
      await this.engine.start('rollout', name, event).catch((e: unknown) => {
        log('error', 'the ReleasePublished rule could not start a rollout', { eventId: event.id, error: String(e) });
      });
    }
  }
}
