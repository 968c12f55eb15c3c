// Differential property test for hugetlb memory: random sequences of MAP_HUGETLB mmaps (private
// and shared, some MAP_NORESERVE), munmap, mprotect and MADV_DONTNEED (aligned or not), reads and
// writes, forks and exits run on vmlab and on a small model of what each process sees. The model
// knows no pool, no reservation and no page: it knows contents. Private areas keep a content
// token per 4 KiB page per process (fork copies them; a DONTNEED'd page reads as zeros again),
// shared areas one per page of their file. After every step vmlab's answer must be the model's:
// the same token read, EINVAL exactly for calls that would split a VMA inside a huge page. A
// fault may end in SIGBUS only where Linux allows it: in a process that did not make the private
// mapping (a child after fork: no reservations of its own), in a MAP_NORESERVE area, and
// anywhere once a process that forked has unmapped private pages (munmap, DONTNEED, exit): the
// reservation of a page it shared with a child only comes back when the child lets go of the
// page (folio_set_hugetlb_restore_reserve), and meanwhile a child's copy may take the free page
// that backed another reservation. When the owner's write finds no page for its copy, Linux
// takes the page from the other processes instead (unmap_ref_private): the test sees their
// HugetlbPages drop, and from then on the page is SIGBUS for each of them (any other page of
// that area may be too: the whole VMA is marked), while their later children, whose VMAs are
// not marked, fault a zeroed page there. A process that gets SIGBUS is killed. vmlab's invariant
// checker runs after every call (check: true), pool accounting included. When the sequence ends
// every process exits and the pool must be whole again: every page free, nothing reserved.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Task } from '../src/mm/mm.js';
import { System } from '../src/sim/system.js';

const HP = 512;
const PAGE = 4096;
const POOL = 6;
const SLOTS = 4;

interface Shared {
  readonly pages: Map<number, number>;
}

interface Area {
  start: number;
  end: number;
  /** The file page (4 KiB units) at start, for shared areas. */
  pgoff: number;
  readonly shared: Shared | null;
  prot: number;
  /** This process made the private mapping (it owns its reservations). */
  readonly owner: boolean;
  readonly noreserve: boolean;
  /** unmap_ref_private took a page of this area (HPAGE_RESV_UNMAPPED): faults may be SIGBUS. */
  poisoned: boolean;
}

interface Proc {
  readonly task: Task;
  areas: Area[];
  readonly priv: Map<number, number>;
  forked: boolean;
  /** Huge pages unmap_ref_private took from this process (their first page). */
  readonly taken: Set<number>;
}

type Op =
  | { op: 'mmap'; p: number; huge: number; shared: boolean; noreserve: boolean; prot: number }
  | {
      op: 'munmap' | 'mprotect' | 'dontneed';
      p: number;
      sel: number;
      off: number;
      len: number;
      skew: number;
      prot: number;
    }
  | { op: 'access'; p: number; sel: number; page: number; write: boolean }
  | { op: 'fork'; p: number }
  | { op: 'exit'; p: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      p: fc.nat(7),
      huge: fc.integer({ min: 1, max: 3 }),
      shared: fc.boolean(),
      noreserve: fc.oneof(
        { weight: 5, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      prot: fc.constantFrom(3, 3, 3, 1),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom('munmap' as const, 'mprotect' as const, 'dontneed' as const),
      p: fc.nat(7),
      sel: fc.nat(100),
      off: fc.integer({ min: 0, max: 2 }),
      len: fc.integer({ min: 1, max: 3 }),
      skew: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 511 }) },
      ),
      prot: fc.constantFrom(1, 3),
    }),
  },
  {
    weight: 16,
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      p: fc.nat(7),
      sel: fc.nat(100),
      // A few pages per huge page, so that reads meet earlier writes (and copies) often.
      page: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(0, 1, 511, 512, 700, 1024, 1535) },
        fc.nat(3 * HP - 1),
      ),
      write: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('fork' as const), p: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), p: fc.nat(7) }) },
);

function run(ops: readonly Op[], overcommit: number): void {
  const sys = new System({
    machine: {
      cpus: 2,
      nodes: [32 * 1024 * 1024],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      oomKiller: false,
      hugepages: { pages2M: POOL, pages1G: 0, overcommit },
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
  const procs: (Proc | null)[] = Array.from({ length: SLOTS }, (_, i) =>
    i < 2
      ? { task: sys.spawn(`p${i}`, i)!, areas: [], priv: new Map(), forked: false, taken: new Set<number>() }
      : null,
  );
  const log: string[] = [];
  const fail = (msg: string): never => {
    throw new Error(`${msg}\n  steps:\n    ${log.slice(-30).join('\n    ')}`);
  };
  /** Whether reservations may have lost their backing (see the header). */
  let shortfall = false;
  const unmapped = (p: Proc): void => {
    // With surplus pages in the pool an unmapped page's reservation is not restored at all.
    if (p.forked || overcommit > 0) shortfall = true;
  };
  const kill = (slot: number): void => {
    unmapped(procs[slot]!);
    sys.exit(procs[slot]!.task);
    procs[slot] = null;
  };

  for (const op of ops) {
    const alive = procs.flatMap((p, i) => (p === null ? [] : [i]));
    if (alive.length === 0) break;
    const slot = alive[op.p % alive.length];
    const proc = procs[slot]!;
    const task = proc.task;
    if (op.op === 'fork') {
      const free = procs.indexOf(null);
      if (free < 0) continue;
      const child = sys.fork(task, `c${log.length}`);
      if (child === null) fail('fork failed');
      proc.forked = true;
      procs[free] = {
        task: child!,
        areas: proc.areas.map((a) => ({ ...a, owner: false, poisoned: false })),
        priv: new Map(proc.priv),
        forked: false,
        taken: new Set<number>(),
      };
      log.push(`fork p${slot} -> p${free}`);
      continue;
    }
    if (op.op === 'exit') {
      if (alive.length > 1) {
        kill(slot);
        log.push(`exit p${slot}`);
      }
      continue;
    }
    if (op.op === 'mmap') {
      const r = sys.mmap(task, {
        addr: 0,
        len: op.huge * HP * PAGE,
        prot: op.prot,
        shared: op.shared,
        fixed: false,
        fixedNoReplace: false,
        populate: false,
        locked: false,
        noreserve: op.noreserve,
        hugetlb: true,
      });
      log.push(
        `mmap p${slot} ${op.huge} ${op.shared ? 'shared' : 'private'}${op.noreserve ? ' noreserve' : ''} -> ${r.ok ? (r.value / PAGE).toString(16) : r.errno}`,
      );
      if (!r.ok) {
        if (r.errno !== 'ENOMEM' || op.noreserve) fail(`mmap failed with ${r.errno}`);
        continue;
      }
      const start = r.value / PAGE;
      const area: Area = {
        start,
        end: start + op.huge * HP,
        pgoff: 0,
        shared: op.shared ? { pages: new Map() } : null,
        prot: op.prot,
        owner: !op.shared,
        noreserve: op.noreserve,
        poisoned: false,
      };
      proc.areas.push(area);
      proc.areas.sort((a, b) => a.start - b.start);
      continue;
    }
    if (proc.areas.length === 0) continue;
    const area = proc.areas[op.sel % proc.areas.length];
    if (op.op === 'access') {
      const vpn = area.start + (op.page % (area.end - area.start));
      const huge = vpn - (vpn % HP);
      const ownerWrite = op.write && area.owner && area.shared === null;
      const before = ownerWrite
        ? procs.map((q) => (q === null ? 0 : sys.processCounters(q.task).HugetlbPages))
        : [];
      const r = sys.access(task, vpn * PAGE, op.write ? 'write' : 'read');
      log.push(`${op.write ? 'write' : 'read'} p${slot} ${vpn.toString(16)} -> ${r}`);
      const allowed = op.write ? (area.prot & 2) !== 0 : area.prot !== 0;
      if (!allowed) {
        if (r !== -1) fail(`access without permission gave ${r}, not SIGSEGV`);
        continue;
      }
      if (proc.taken.has(huge) && r !== -2) fail(`access to a page unmap_ref_private took gave ${r}`);
      if (r === -2) {
        const reserved = !area.noreserve && (area.owner || area.shared !== null);
        if (reserved && !shortfall && !area.poisoned) fail('SIGBUS in an area with reservations');
        kill(slot);
        continue;
      }
      if (r < 0) fail(`access failed with ${r}`);
      if (ownerWrite) {
        procs.forEach((q, i) => {
          if (q === null || q === proc || sys.processCounters(q.task).HugetlbPages >= before[i]) return;
          // unmap_ref_private took this huge page from q.
          log.push(`  (p${i} lost huge page ${huge.toString(16)})`);
          q.taken.add(huge);
          for (let v = huge; v < huge + HP; v++) q.priv.delete(v);
          for (const x of q.areas) if (x.start <= huge && huge < x.end) x.poisoned = true;
        });
      }
      const key = area.shared === null ? vpn : area.pgoff + (vpn - area.start);
      const map = area.shared === null ? proc.priv : area.shared.pages;
      if (op.write) map.set(key, r);
      else if (r !== (map.get(key) ?? 0)) fail(`read ${r}, the model has ${map.get(key) ?? 0}`);
      continue;
    }
    // A range around a huge page boundary of the area, moved off it by `skew` pages.
    const a = area.start + op.off * HP + op.skew;
    const b = a + op.len * HP;
    const inside = (v: number) => proc.areas.some((x) => x.start < v && v < x.end);
    const misaligned = (v: number) => v % HP !== 0 && inside(v);
    let want: string;
    if (op.op === 'dontneed') {
      const within = a >= area.start && a < area.end;
      want = !within ? 'skip' : a % HP !== 0 ? 'EINVAL' : 'ok';
    } else if (op.op === 'mprotect') {
      const within = a >= area.start && b <= area.end;
      // mprotect_fixup returns before splitting anything when the flags do not change.
      want = !within ? 'skip' : op.prot !== area.prot && (misaligned(a) || misaligned(b)) ? 'EINVAL' : 'ok';
    } else {
      want = misaligned(a) || misaligned(b) ? 'EINVAL' : 'ok';
    }
    if (want === 'skip') continue;
    const r =
      op.op === 'munmap'
        ? sys.munmap(task, a * PAGE, (b - a) * PAGE)
        : op.op === 'mprotect'
          ? sys.mprotect(task, a * PAGE, (b - a) * PAGE, op.prot)
          : sys.madvise(task, a * PAGE, (Math.min(b, area.end) - a) * PAGE, 'dontneed');
    log.push(`${op.op} p${slot} [${a.toString(16)}, ${b.toString(16)}) -> ${r.ok ? 'ok' : r.errno}`);
    const got = r.ok ? 'ok' : r.errno;
    if (got !== want) fail(`${op.op} gave ${got}, expected ${want}`);
    if (!r.ok) continue;
    if (op.op !== 'mprotect') unmapped(proc);
    if (op.op === 'munmap') {
      proc.areas = proc.areas.flatMap((x) => cut(x, a, b));
      for (const v of [...proc.priv.keys()]) if (v >= a && v < b) proc.priv.delete(v);
      for (const v of [...proc.taken]) if (v >= a && v < b) proc.taken.delete(v);
    } else if (op.op === 'mprotect') {
      if (op.prot !== area.prot) proc.areas = proc.areas.flatMap((x) => cut(x, a, b, op.prot));
    } else {
      const stop = Math.min(b, area.end);
      const end = stop - (stop % HP);
      if (area.shared === null)
        for (const v of [...proc.priv.keys()]) if (v >= a && v < end) proc.priv.delete(v);
    }
  }
  for (const p of procs) if (p !== null) sys.exit(p.task);
  const c = sys.systemCounters();
  expect([c.HugePages_Total, c.HugePages_Free, c.HugePages_Rsvd, c.HugePages_Surp]).toEqual([
    POOL,
    POOL,
    0,
    0,
  ]);
  expect(sys.check()).toEqual([]);
}

/** x without [a, b); with `prot`, x with [a, b) given that protection instead. */
function cut(x: Area, a: number, b: number, prot?: number): Area[] {
  if (b <= x.start || a >= x.end) return [x];
  const out: Area[] = [];
  const piece = (s: number, e: number, pr: number) => ({
    ...x,
    start: s,
    end: e,
    pgoff: x.pgoff + (s - x.start),
    prot: pr,
  });
  if (x.start < a) out.push(piece(x.start, a, x.prot));
  if (prot !== undefined) out.push(piece(Math.max(a, x.start), Math.min(b, x.end), prot));
  if (b < x.end) out.push(piece(b, x.end, x.prot));
  return out;
}

describe('hugetlb against a model of contents', () => {
  const runs = Number(process.env.VMLAB_FC_RUNS ?? 300);
  const seed = process.env.VMLAB_FC_SEED;
  const params = seed !== undefined ? { numRuns: runs, seed: Number(seed) } : { numRuns: runs };
  const ops = fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' });

  it('private and shared MAP_HUGETLB areas through fork, munmap, mprotect, DONTNEED and exit', () => {
    fc.assert(
      fc.property(ops, (o) => run(o, 0)),
      params,
    );
  });

  it('the same with nr_overcommit_hugepages 2: surplus pages come and go', () => {
    fc.assert(
      fc.property(ops, (o) => run(o, 2)),
      params,
    );
  });
});
