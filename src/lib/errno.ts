// Guest-visible failures: errno values of failed calls and signals delivered on faults.
// These are results, never exceptions (DESIGN.md principle 4).

export const ERRNOS = [
  'EPERM',
  'ENOENT',
  'EINTR',
  'EAGAIN',
  'ENOMEM',
  'EACCES',
  'EFAULT',
  'EBUSY',
  'EEXIST',
  'EINVAL',
  'ENFILE',
  'EMFILE',
  'EFBIG',
  'ENOSPC',
  'EOVERFLOW',
  'EOPNOTSUPP',
] as const;
export type Errno = (typeof ERRNOS)[number];

export const SIGNALS = ['SIGSEGV', 'SIGBUS', 'SIGKILL'] as const;
export type Signal = (typeof SIGNALS)[number];

/** What a scenario step may declare in `expect_error`. */
export type GuestError = Errno | Signal;
export const GUEST_ERRORS: readonly GuestError[] = [...ERRNOS, ...SIGNALS];

/** A call's result: a value or an errno. */
export type SysResult<T> = { ok: true; value: T } | { ok: false; errno: Errno };

export function ok<T>(value: T): SysResult<T> {
  return { ok: true, value };
}

export function err<T>(errno: Errno): SysResult<T> {
  return { ok: false, errno };
}
