// The event bus port: the control plane's own EventBridge bus in AWS (DCP_EVENT_BUS), a local bus in the
// local runtime (setEventPublisher). Publishing is best-effort after the state change it announces has been
// written; a lost event is caught up by the scheduled rollout rule.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../core/events.js';

export interface EventPublisher {
  publish(detailType: string, detail: Record<string, unknown>): Promise<void>;
}

let publisher: EventPublisher | undefined;

export function setEventPublisher(next: EventPublisher | undefined): void {
  publisher = next;
}

export function eventPublisher(): EventPublisher {
  publisher ??= new EventBridgePublisher(new EventBridgeClient({}));
  return publisher;
}

export class EventBridgePublisher implements EventPublisher {
  constructor(private readonly client: EventBridgeClient) {}

  async publish(detailType: string, detail: Record<string, unknown>): Promise<void> {
    const bus = process.env.DCP_EVENT_BUS;
    if (!bus) throw new Error('DCP_EVENT_BUS is not set');
    const out = await this.client.send(
      new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail) }] }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.Entries?.[0];
      throw new Error(`PutEvents refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  }
}
