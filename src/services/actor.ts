/** Who is asking, and under which request id: recorded on every audit event. */
export interface Actor {
  /** The principal's id, or `system` for the service's own jobs. */
  id: string;
  /** The principal's name (what audit records show). */
  name: string;
  /** The token the request came with. */
  tokenId?: string;
  requestId?: string;
  sourceIp?: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'system', name: 'system' };

