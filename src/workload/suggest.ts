// "Did you mean ...?" for misspelt keys, values and counter names: Levenshtein distance,
// case-insensitive, so `rssanon` finds `RssAnon`.

/** Edit distance between a and b (insert, delete, substitute), ignoring case. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost));
    }
    prev = row;
  }
  return prev[t.length];
}

/** `candidates` closest to `word` first; ties keep their given order. */
export function byCloseness(word: string, candidates: readonly string[]): string[] {
  return candidates
    .map((c, i) => ({ c, i, d: editDistance(word, c) }))
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .map((x) => x.c);
}

/** The candidate close enough to be a likely misspelling of `word`, if any. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const best = byCloseness(word, candidates)[0];
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(word.length / 3));
  return editDistance(word, best) <= limit ? best : undefined;
}

/** `; did you mean 'x'?` or ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const best = closestMatch(word, candidates);
  return best === undefined ? '' : `; did you mean '${best}'?`;
}
