// Small pieces the reference model's files share: constants, call results and their checks,
// and the ledger of content tokens seen so far.

export const PAGE_SIZE = 4096;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** Access results below zero, as vmlab's System.access returns them. */
export const SIGSEGV = -1;
export const SIGBUS = -2;
export const OUT_OF_MEMORY = -3;

/** A call's result as vmlab reports it. */
export type CallResult = { ok: true; value: number } | { ok: false; errno: string };

/**
 * Every content token the model has learnt. A token that new data receives (a store, a
 * write(2), a created file's page, a truncated page's new tail) must be one never seen before.
 */
export class TokenLedger {
  private readonly seen = new Set<number>();

  /** null when `t` is a fresh token (and remembers it), else what is wrong with it. */
  fresh(t: number, what: string): string | null {
    if (t <= 0 || this.seen.has(t))
      return `${what}: expected new contents (a fresh token), got ${describe(t)}`;
    this.seen.add(t);
    return null;
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export function describe(r: number): string {
  if (r === SIGSEGV) return 'SIGSEGV';
  if (r === SIGBUS) return 'SIGBUS';
  if (r === OUT_OF_MEMORY) return 'out of memory';
  return `token ${r}`;
}

export function show(r: CallResult): string {
  return r.ok ? `ok(${r.value >= PAGE_SIZE ? hex(r.value) : r.value})` : r.errno;
}

export function expectOk(actual: CallResult, value: number): string | null {
  if (actual.ok && actual.value === value) return null;
  return `expected ok(${value >= PAGE_SIZE ? hex(value) : value}), got ${show(actual)}`;
}

export function expectErr(actual: CallResult, errno: string): string | null {
  if (!actual.ok && actual.errno === errno) return null;
  return `expected ${errno}, got ${show(actual)}`;
}

/** A result that is either ok(value) (a number) or an errno (a string). */
export function expectResult(actual: CallResult, want: number | string): string | null {
  return typeof want === 'string' ? expectErr(actual, want) : expectOk(actual, want);
}
