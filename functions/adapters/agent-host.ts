// The simulated-agent port (SPEC §7.3). Only the local runtime provides one: it holds simulated agents'
// private keys and answers their commands through the public result route. In AWS none is registered and
// registering a target with `"agent": "simulated"` is refused.
import type { CommandRecord } from '../core/workflows.js';

export interface SimulatedAgentHost {
  /** Create the agent key pair for a target; answers the public key (base64) to store as agentPublicKey. */
  createAgentKey(targetId: string): Promise<string>;
  /** A command was stored for a target with a simulated agent. */
  commandStored(command: Omit<CommandRecord, 'taskToken'>): void;
}

let host: SimulatedAgentHost | undefined;

export function setSimulatedAgentHost(next: SimulatedAgentHost | undefined): void {
  host = next;
}

export function simulatedAgentHost(): SimulatedAgentHost | undefined {
  return host;
}
