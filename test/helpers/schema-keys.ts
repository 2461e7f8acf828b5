import { configSchema } from '../../src/config/schema.js';

/**
 * Every key path the config schema accepts (`network.batchSubnets.az`, ...): what the template and the docs must show.
 */
export function schemaKeys(): string[] {
  type Def = { type: string; shape?: Record<string, unknown>; innerType?: unknown; element?: unknown };
  const def = (s: unknown) => (s as { _zod: { def: Def } })._zod.def;
  const unwrap = (s: unknown): unknown => (def(s).innerType ? unwrap(def(s).innerType) : s);
  const walk = (s: unknown, at: string[]): string[] => {
    const d = def(unwrap(s));
    if (d.type === 'array') return walk(d.element, at);
    if (d.type !== 'object' || !d.shape) return [];
    return Object.entries(d.shape).flatMap(([k, v]) => [[...at, k].join('.'), ...walk(v, [...at, k])]);
  };
  return walk(configSchema, []);
}
