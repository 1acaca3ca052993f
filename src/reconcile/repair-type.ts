/**
 * The event type of a reconciliation repair (rehydrate, republish, tombstone). A repair carries
 * the authority's current state of an entity, not one of its events, so receivers validate it
 * against the entity's state schema (that of its state events, `<entityType>.state`) instead of
 * by its own type, which has no schema.
 */
export const repairEventType = (entityType: string): string => `${entityType}.reconcile-repair`;

export const isRepairEvent = (envelope: { type: string; entitytype: string }): boolean =>
  envelope.type === repairEventType(envelope.entitytype);

/** The type of an entity's state events, whose schema describes the state a repair carries. */
export const stateEventType = (entityType: string): string => `${entityType}.state`;
