/** Who does something: an API key, an operator at the CLI, the system itself, or the person. */
export type ActorType = 'api_key' | 'operator' | 'system' | 'staff' | 'data_subject';

export interface Actor {
  readonly type: ActorType;
  /** A name, never personal data of a data subject: an API key's name, an operator's user name. */
  readonly id: string;
}

export const SYSTEM: Actor = Object.freeze({ type: 'system', id: 'consentcast' });

export function describeActor(actor: Actor): string {
  return `${actor.type}:${actor.id}`;
}

/**
 * A member of staff as an actor: `staff:<id>`. The colon keeps it apart from every API key name and
 * operator name (neither may contain one), so the four-eyes rule never mistakes a key for a person.
 */
export function staffActor(staffId: number): Actor {
  return { type: 'staff', id: `staff:${staffId}` };
}
