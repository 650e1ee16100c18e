/** Who is asking, and under which request id: recorded on every audit event. */
export interface Actor {
  /** Stable principal name, e.g. "token:<id>" */
  id: string;
  requestId?: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'system' };
