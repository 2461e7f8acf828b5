/**
 * Tests run under whatever AWS_* variables the machine has (CI runs the suite with unrelated ones set on
 * purpose). A test whose subject is the environment itself sets exactly what it means, for its own
 * duration, instead of assuming an empty one.
 */

/** Run `fn` with these variables set (a value of undefined unsets one), then restore them. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

/** No region from the environment: what a config without `region:` is checked against. */
export const NO_REGION_ENV = { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
