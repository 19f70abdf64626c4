// The simulated-agent port (SPEC §7.3). Only the local runtime hosts simulated agents: it holds their
// private keys and answers their commands through the public result route. The local runtime gives the
// targets function DCP_LOCAL_AGENT_HOST_URL, where registering a target with `"agent": "simulated"` asks
// for the agent's public key; in AWS the variable is absent and such a registration is refused. Commands
// reach a simulated agent the way they reach a real one: the local runtime sees them stored (local/runtime.ts).
export interface SimulatedAgentHost {
  /** Create the agent key pair for a target; answers the public key (base64) to store as agentPublicKey. */
  createAgentKey(targetId: string): Promise<string>;
}

/** The environment variable the local runtime sets on the targets function (never set in AWS). */
export const LOCAL_AGENT_HOST_ENV = 'DCP_LOCAL_AGENT_HOST_URL';

export function simulatedAgentHost(): SimulatedAgentHost | undefined {
  const url = process.env[LOCAL_AGENT_HOST_ENV];
  if (!url) return undefined;
  return {
    async createAgentKey(targetId) {
      const res = await fetch(`${url.replace(/\/$/, '')}/${encodeURIComponent(targetId)}`, { method: 'POST' });
      if (!res.ok) throw new Error(`The local agent host answered ${res.status}`);
      const body = (await res.json()) as { publicKey?: unknown };
      if (typeof body.publicKey !== 'string') throw new Error('The local agent host answered no public key');
      return body.publicKey;
    },
  };
}
