/**
 * Guards of the kinds that only reference what is yours (`external`): the engine never calls their
 * create or delete, and if a bug ever did, nothing of yours would be touched.
 */

/** Always throws: batchctl never creates, changes or deletes a resource of yours. */
export function refuseToChange(step: 'create' | 'delete', what: string): never {
  throw new Error(`internal: batchctl never ${step}s ${what}: it is yours, named in the config`);
}

/**
 * The steps an external kind has only to refuse: create and delete throw, and there is never anything to
 * converge (its settings are yours).
 */
export const readOnly = {
  create: (_ctx: unknown, node: { key: string }): never => refuseToChange('create', node.key),
  diff: (): [] => [],
  delete: (_ctx: unknown, record: { id: string }): never => refuseToChange('delete', record.id),
};
