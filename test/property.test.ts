// Differential property test: random sequences of mmap, munmap, mprotect, mremap, madvise,
// mlock/munlock, fork, exec, exit, file calls (create, mmap of a file, read, write, truncate,
// fsync, msync, sync), khugepaged passes, drop_caches and reads/writes/execs on several
// processes and CPUs run on vmlab and on the reference model (test/reference-model.ts).
// Each sequence runs with a transparent huge page mode (always, madvise, never); a few mappings
// are 2 MiB or more at a 2 MiB boundary, so that THPs are faulted, split, copied, moved and
// collapsed under everything else. THPs are transparent: the model knows nothing of them
// (but for one allowance out of memory: see SpacesModel's constructor). After every step: vmlab's
// result is the model's, the process's VMAs cover exactly the pages the model has mapped (with
// its protection, lock, backing and fork advice; after fork, exec and exit every live process
// is compared), and vmlab's invariant checker finds nothing (check: true throws otherwise).
// After the sequence every process exits (in slot order, or the reverse for odd-length
// sequences); then sync and drop_caches must empty the page cache, the files must read back
// from the disk as the model says, and no frame or page table may be left.
//
// Processes live in MAX_PROCS slots, two of them used at the start. An operation's `p` picks
// one of the live processes (p modulo their number), except respawn's, which names a slot.
// fork puts the child in the first free slot (none free: the fork is skipped); accesses by
// parents and children interleave, so CoW divergence and shared visibility are exercised.
// The pieces: property-ops.ts (operations, generators), property-run.ts (the runner),
// property-files.ts (file operations, the read-back).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task } from '../src/mm/mm.js';
import { System } from '../src/sim/system.js';
import type { ThpEnabled } from '../src/workload/scenario.js';
import { MiB, mmapReq, type Op, opsArb, type RangeSpec, WIN } from './property-ops.js';
import { runSequence } from './property-run.js';
import { PAGE_SIZE } from './reference-model.js';

// ------------------------------------------------------------------ the properties

/** The THP mode of a sequence: always and madvise most of the time, where THPs happen. */
const thpArb = fc.constantFrom<ThpEnabled>('always', 'always', 'madvise', 'madvise', 'never');

/** VMLAB_FC_SEED replays a failing run (fast-check prints the seed); VMLAB_FC_RUNS runs longer. */
const seedEnv = process.env.VMLAB_FC_SEED;
const runsEnv = process.env.VMLAB_FC_RUNS;
/** Long runs (VMLAB_FC_RUNS) get an hour instead of the configured test timeout. */
const timeout = runsEnv !== undefined ? 3_600_000 : undefined;
function fcParams<T>(numRuns: number): fc.Parameters<T> {
  const n = runsEnv !== undefined ? Number(runsEnv) : numRuns;
  return seedEnv !== undefined && seedEnv !== 'random'
    ? { numRuns: n, seed: Number(seedEnv) }
    : { numRuns: n };
}

/**
 * A turn of the event loop after each run: a long run (VMLAB_FC_RUNS) otherwise keeps the
 * vitest worker from answering its RPC for minutes, and vitest reports a "Timeout calling
 * onTaskUpdate" error (exit status 1) although every run passed.
 */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('vmlab agrees with the reference model', () => {
  it(
    'on random sequences of memory and file calls, accesses, forks and exits (64 MiB, 2 CPUs, up to 4 processes)',
    async () => {
      await fc.assert(
        fc.asyncProperty(thpArb, opsArb(false), async (thp, ops) => {
          runSequence(ops, { memory: 64 * MiB, thp });
          await yieldTurn();
        }),
        fcParams<[ThpEnabled, Op[]]>(300),
      );
    },
    timeout,
  );

  it(
    'when memory runs out (4 MiB): accesses may fail with -3, fork and exec may fail, nothing leaks',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 40 }), thpArb, opsArb(true), async (free, thp, ops) => {
          runSequence(ops, { memory: 4 * MiB, freeTarget: free, thp });
          await yieldTurn();
        }),
        fcParams<[number, ThpEnabled, Op[]]>(200),
      );
    },
    timeout,
  );
});

/** An mmap step for the hand-written sequences below. */
function mmapOp(
  p: number,
  page: number,
  len: number,
  prot: number,
  more: Partial<Op & { op: 'mmap' }> = {},
): Op {
  return {
    op: 'mmap',
    p,
    page,
    len,
    prot,
    shared: false,
    mode: 'fixed',
    populate: false,
    locked: false,
    noreserve: false,
    ...more,
  };
}
const win = (page: number, len: number): RangeSpec => ({ at: 'win', page, len });

/** A one-process, two-CPU machine for the hand-written cases: returns the system and the task. */
function machine(memory: number): { sys: System; t: Task } {
  const sys = new System({
    machine: {
      cpus: 2,
      nodes: [memory],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      oomKiller: false,
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
  const t = sys.spawn('app', 0);
  if (t === null) throw new Error('spawn failed');
  return { sys, t };
}

/** Fill memory from another process until allocations fail: free memory is down to the min
 * watermark, which user allocations never take (populate stops at the first failure). */
function exhaust(sys: System): Task {
  const hog = sys.spawn('hog', 0)!;
  sys.mmap(
    hog,
    mmapReq(0x6000_0000_0000 / PAGE_SIZE, sys.kernel.phys.totalPages, 3, false, 'fixed', true, false, false),
  );
  expect(sys.kernel.phys.freePages).toBe(sys.kernel.watermarks[0].min);
  return hog;
}

function expectNoLeak(sys: System): void {
  expect(sys.kernel.phys.freePages).toBe(sys.kernel.phys.totalPages - 1);
  expect(sys.kernel.pool.live).toBe(0);
}

const rw = 3;

/** A file mapping step for the hand-written sequences below. */
function mmapFileOp(
  p: number,
  f: number,
  page: number,
  len: number,
  prot: number,
  shared: boolean,
  more: { readonly populate?: boolean; readonly locked?: boolean } = {},
): Op {
  return {
    op: 'mmapFile',
    p,
    f,
    offset: 0,
    page,
    len,
    prot,
    shared,
    mode: 'fixed',
    populate: more.populate ?? false,
    locked: more.locked ?? false,
  };
}

describe('regressions found by the property test', () => {
  // madvise_vma_behavior refuses MADV_WIPEONFORK on any area with a vm_file; vmlab refused
  // only shared ones and advised a private file mapping.
  it('MADV_WIPEONFORK on a private file mapping fails with EINVAL', () => {
    runSequence(
      [
        { op: 'create', f: 0, size: 2 * PAGE_SIZE, cached: false },
        mmapFileOp(0, 0, 0, 2, rw, false),
        { op: 'madvise', p: 0, r: win(0, 2), advice: 'wipeonfork' },
        { op: 'fork', p: 0 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // truncate into a page gave the cached page and the disk block two different new contents
  // and left the page clean: after drop_caches the file read back other data than before.
  it('a page truncated in its middle reads the same after eviction', () => {
    runSequence(
      [
        { op: 'create', f: 0, size: PAGE_SIZE, cached: true },
        mmapFileOp(0, 0, 0, 1, 1, true),
        { op: 'truncate', p: 0, f: 0, size: 1 },
        { op: 'access', p: 0, target: 'file', sel: 0, kind: 'read', cpu: 0 },
        { op: 'munmap', p: 0, r: win(0, 1) },
        { op: 'dropCaches', mode: 1 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // vmlab skipped mremap's vma_lookup(addr): a shrink or no-op resize of an unmapped address
  // succeeded, and MREMAP_FIXED unmapped the destination before failing.
  it('mremap of an unmapped address fails with EFAULT before anything changes', () => {
    runSequence(
      [
        { op: 'mremap', p: 0, r: win(0, 1), newLen: 1, mode: 'maymove', dst: 0 },
        { op: 'mremap', p: 0, r: win(0, 2), newLen: 1, mode: 'nomove', dst: 0 },
        mmapOp(0, 10, 2, rw),
        { op: 'access', p: 0, target: 'mapped', sel: 0, kind: 'write', cpu: 0 },
        { op: 'mremap', p: 0, r: win(0, 1), newLen: 2, mode: 'fixed', dst: 10 },
        { op: 'access', p: 0, target: 'written', sel: 0, kind: 'read', cpu: 0 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // apply_vma_lock_flags and do_mprotect_pkey go on at vma_iter_end() after the fixup: when
  // the changed part merged with the next VMA, vmlab looked at that VMA's old start and
  // reported a hole (ENOMEM) that is not there.
  it('mlock whose first part merges with the next, already locked VMA succeeds', () => {
    runSequence(
      [
        mmapOp(1, 0, 4, 0),
        { op: 'mlock', p: 1, r: win(2, 1), onfault: true },
        { op: 'mlock', p: 1, r: win(1, 2), onfault: true },
        { op: 'munlock', p: 1, r: win(0, 4) },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  it('mprotect whose first part merges with the next VMA succeeds', () => {
    runSequence(
      [
        mmapOp(0, 0, 4, rw),
        { op: 'mprotect', p: 0, r: win(2, 1), prot: 1 },
        { op: 'mprotect', p: 0, r: win(1, 2), prot: 1 },
        { op: 'access', p: 0, target: 'win', sel: 1, kind: 'write', cpu: 0 },
        { op: 'access', p: 0, target: 'win', sel: 3, kind: 'write', cpu: 0 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // move_vma's error path: when moving the page-table entries runs out of memory, Linux moves
  // the entries back and unmaps the new area. vmlab returned ENOMEM with the new VMA left in place.
  it('mremap that runs out of memory leaves the old mapping as it was (shrunk case)', () => {
    runSequence(
      [
        mmapOp(0, 2, 2, rw, { populate: true }),
        { op: 'mremap', p: 0, r: win(2, 1), newLen: 2, mode: 'maymove', dst: 0 },
      ],
      { memory: 4 * MiB, freeTarget: 4, thp: 'madvise' },
    );
  });

  it('mremap that runs out of memory half-way through the move puts the moved entries back', () => {
    const { sys, t } = machine(4 * MiB);
    // A PTE table for [WIN, WIN + 512) (the destination's lower half), none for [WIN + 512, WIN + 1024).
    expect(sys.mmap(t, mmapReq(WIN, 1, rw, false, 'fixed', true, false, false)).ok).toBe(true);
    const src = WIN + 1030;
    expect(sys.mmap(t, mmapReq(src, 4, rw, false, 'fixed', false, false, false)).ok).toBe(true);
    const tokens = [0, 1, 2, 3].map((i) => sys.access(t, (src + i) * PAGE_SIZE, 'write'));
    const hog = exhaust(sys);
    // Moving down walks upwards: WIN + 510 and 511 move, WIN + 512 needs a table that cannot be had.
    const r = sys.mremap(t, {
      addr: src * PAGE_SIZE,
      oldLen: 4 * PAGE_SIZE,
      newLen: 4 * PAGE_SIZE,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: (WIN + 510) * PAGE_SIZE,
    });
    expect(r).toEqual({ ok: false, errno: 'ENOMEM' });
    // Read on the other CPU, whose TLB holds nothing of the old range (the first CPU's entries
    // for it would hide a lost page).
    expect([0, 1, 2, 3].map((i) => sys.access(t, (src + i) * PAGE_SIZE, 'read', 1))).toEqual(tokens);
    expect(sys.access(t, (WIN + 510) * PAGE_SIZE, 'read')).toBe(-1);
    expect(sys.processCounters(t).VmSize).toBe(5 * PAGE_SIZE);
    sys.exit(t);
    sys.exit(hog);
    expectNoLeak(sys);
  });

  // do_mlock: __mm_populate's -ENOMEM reaches user space as EAGAIN (__mlock_posix_error_return).
  it('mlock whose populate runs out of memory fails with EAGAIN and leaves the area locked', () => {
    const { sys, t } = machine(4 * MiB);
    expect(sys.mmap(t, mmapReq(WIN, 8, rw, false, 'fixed', false, false, false)).ok).toBe(true);
    const hog = exhaust(sys);
    expect(sys.mlock(t, WIN * PAGE_SIZE, 8 * PAGE_SIZE)).toEqual({ ok: false, errno: 'EAGAIN' });
    expect(sys.processCounters(t).VmLck).toBe(8 * PAGE_SIZE);
    expect(sys.madvise(t, WIN * PAGE_SIZE, PAGE_SIZE, 'dontneed')).toEqual({ ok: false, errno: 'EINVAL' });
    sys.exit(t);
    sys.exit(hog);
    expectNoLeak(sys);
  });
});

// File behaviours the random sequences reach only now and then, as fixed sequences: vmlab must
// agree with the model on each (the final sweep reads every file page back).
describe('file cases the random sequences seldom reach', () => {
  const file = (size: number): Op => ({ op: 'create', f: 0, size, cached: false });
  const write = (off: number, len: number): Op => ({ op: 'write', p: 0, f: 0, off, len });
  const read = (page: number): Op => ({ op: 'access', p: 0, target: 'win', sel: page, kind: 'read', cpu: 1 });

  // mremap growing a locked area populates the new part; in a private writable file mapping
  // that breaks CoW, so those pages keep the file's contents of that moment.
  it('mremap growing a locked private file mapping copies the new pages', () => {
    runSequence(
      [
        file(4 * PAGE_SIZE),
        mmapFileOp(0, 0, 0, 2, rw, false, { locked: true }),
        { op: 'mremap', p: 0, r: win(0, 2), newLen: 4, mode: 'nomove', dst: 0 },
        write(2 * PAGE_SIZE, PAGE_SIZE),
        read(2),
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // MAP_POPULATE of a private writable mapping copies every page; a read-only one maps the
  // page-cache pages, which go on showing the file's changes.
  it('MAP_POPULATE copies private writable file pages, not read-only ones', () => {
    runSequence(
      [
        file(2 * PAGE_SIZE),
        mmapFileOp(0, 0, 0, 2, rw, false, { populate: true }),
        mmapFileOp(0, 0, 4, 2, 1, false, { populate: true }),
        write(0, 2 * PAGE_SIZE),
        read(0),
        read(4),
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // MADV_DONTNEED drops a private copy: the page reads the file again, written since.
  it('MADV_DONTNEED gives a private file page back to the file', () => {
    runSequence(
      [
        file(PAGE_SIZE),
        mmapFileOp(0, 0, 0, 1, rw, false),
        { op: 'access', p: 0, target: 'win', sel: 0, kind: 'write', cpu: 0 },
        write(0, 10),
        read(0),
        { op: 'madvise', p: 0, r: win(0, 1), advice: 'dontneed' },
        read(0),
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });

  // truncate takes the private copies of every process (even_cows), a child's included: past
  // the new end they are SIGBUS, and after growing again they read zeros from the file.
  it("truncate drops a forked child's private copies past the new end", () => {
    runSequence(
      [
        file(2 * PAGE_SIZE),
        mmapFileOp(0, 0, 0, 2, rw, false),
        { op: 'access', p: 0, target: 'win', sel: 1, kind: 'write', cpu: 0 },
        { op: 'fork', p: 0 },
        { op: 'truncate', p: 0, f: 0, size: 100 },
        { op: 'access', p: 1, target: 'win', sel: 1, kind: 'read', cpu: 1 },
        { op: 'truncate', p: 0, f: 0, size: 2 * PAGE_SIZE },
        { op: 'access', p: 2, target: 'win', sel: 1, kind: 'read', cpu: 1 },
      ],
      { memory: 64 * MiB, thp: 'madvise' },
    );
  });
});
