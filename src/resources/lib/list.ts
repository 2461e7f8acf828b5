/**
 * A listing every page of which is read once per walk (ctx.memo) and shared by the nodes that need it: a
 * rule's targets (the rule looks for targets batchctl did not put there; its target node finds its own),
 * a topic's subscriptions. Undefined when the parent does not exist.
 */
import { isNotFound } from '../../base/errors.js';
import type { Ctx } from '../../engine/types.js';

export function listAllPages<T>(
  ctx: Ctx,
  memoKey: string,
  page: (token: string | undefined) => Promise<{ items?: T[]; next?: string }>,
): Promise<T[] | undefined> {
  return ctx.memo(memoKey, async () => {
    const all: T[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await page(token);
        all.push(...(out.items ?? []));
        token = out.next;
      } while (token);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return all;
  });
}
