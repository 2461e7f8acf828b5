/** "Did you mean ...?": the closest of some known words to a typo. */

/** Edit distance (insertions, deletions, substitutions). */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The candidate closest to `word` (case-insensitive), however far; undefined only for no candidates. */
export function closest(word: string, candidates: readonly string[]): { value: string; distance: number } | undefined {
  const lower = word.toLowerCase();
  let best: { value: string; distance: number } | undefined;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (!best || d < best.distance) best = { value: c, distance: d };
  }
  return best;
}

/** The closest candidate for a typo, if it is close enough to be what was meant. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const best = closest(word, candidates);
  return best && best.distance <= Math.max(2, Math.floor(best.value.length / 3)) ? best.value : undefined;
}
