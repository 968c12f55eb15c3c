// Contents through THP operations (DESIGN.md principle 3): every 4 KiB page of a huge folio keeps
// its own token across split, fork, CoW, mremap, collapse and folio split. The scenarios pin the
// counters; these tests pin the data.

import { describe, expect, it } from 'vitest';
import { fixedAnon } from '../sim/fixtures.js';
import { System } from '../sim/system.js';
import type { ThpEnabled } from '../workload/scenario.js';
import type { Task } from './mm.js';
import { DEFAULT_THP } from './thp-state.js';

const PAGE = 4096;
const MiB = 1024 * 1024;
const BASE = 0x7f00_0000_0000;

function machine(enabled: ThpEnabled = 'madvise', memory = 64 * MiB): { sys: System; t: Task } {
  const sys = new System({
    machine: {
      cpus: 2,
      nodes: [memory],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      thp: { ...DEFAULT_THP, enabled },
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
  const t = sys.spawn('app', 0);
  if (t === null) throw new Error('spawn failed');
  return { sys, t };
}

function map(sys: System, t: Task, addr: number, pages: number): void {
  const r = sys.mmap(t, fixedAnon(addr, pages * PAGE));
  expect(r.ok).toBe(true);
}

/** Write each page of [addr, addr + pages) once; returns the tokens written. */
function writeAll(sys: System, t: Task, addr: number, pages: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < pages; i++) out.push(sys.access(t, addr + i * PAGE, 'write'));
  return out;
}

function readAll(sys: System, t: Task, addr: number, pages: number, cpu = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < pages; i++) out.push(sys.access(t, addr + i * PAGE, 'read', cpu));
  return out;
}

describe('THP contents', () => {
  it('a THP written page by page keeps 512 tokens; a PMD split keeps them', () => {
    const { sys, t } = machine();
    map(sys, t, BASE, 512);
    sys.madvise(t, BASE, 2 * MiB, 'hugepage');
    const tokens = writeAll(sys, t, BASE, 512);
    expect(new Set(tokens).size).toBe(512);
    expect(sys.systemCounters().thp_fault_alloc).toBe(1);
    expect(readAll(sys, t, BASE, 512)).toEqual(tokens);
    // mprotect of one page in the middle splits the PMD.
    expect(sys.mprotect(t, BASE + 100 * PAGE, PAGE, 1).ok).toBe(true);
    expect(sys.systemCounters().thp_split_pmd).toBe(1);
    expect(readAll(sys, t, BASE, 512, 0)).toEqual(tokens);
  });

  it('fork shares the THP; writes on either side stay on that side', () => {
    const { sys, t } = machine('always');
    map(sys, t, BASE, 512);
    const tokens = writeAll(sys, t, BASE, 512);
    const child = sys.fork(t, 'kid')!;
    expect(readAll(sys, child, BASE, 512)).toEqual(tokens);
    const c5 = sys.access(child, BASE + 5 * PAGE, 'write');
    const p7 = sys.access(t, BASE + 7 * PAGE, 'write');
    const wantChild = [...tokens];
    wantChild[5] = c5;
    const wantParent = [...tokens];
    wantParent[7] = p7;
    expect(readAll(sys, child, BASE, 512)).toEqual(wantChild);
    expect(readAll(sys, t, BASE, 512)).toEqual(wantParent);
    sys.exit(child);
    expect(readAll(sys, t, BASE, 512, 0)).toEqual(wantParent);
  });

  it('mremap moves a whole THP or its split pages with their contents', () => {
    const { sys, t } = machine('always');
    map(sys, t, BASE, 1024);
    const tokens = writeAll(sys, t, BASE, 1024);
    const moved = sys.mremap(t, {
      addr: BASE,
      oldLen: 2 * MiB,
      newLen: 2 * MiB,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: BASE + 8 * MiB,
    });
    expect(moved).toEqual({ ok: true, value: BASE + 8 * MiB });
    expect(sys.systemCounters().thp_split_pmd).toBe(0);
    expect(readAll(sys, t, BASE + 8 * MiB, 512)).toEqual(tokens.slice(0, 512));
    const off = sys.mremap(t, {
      addr: BASE + 2 * MiB,
      oldLen: 2 * MiB,
      newLen: 2 * MiB,
      maymove: true,
      fixed: true,
      dontunmap: false,
      newAddr: BASE + 16 * MiB + PAGE,
    });
    expect(off.ok).toBe(true);
    expect(sys.systemCounters().thp_split_pmd).toBe(1);
    expect(readAll(sys, t, BASE + 16 * MiB + PAGE, 512)).toEqual(tokens.slice(512));
  });

  it('khugepaged carries each page (and zero for empty ones) into the new THP', () => {
    const { sys, t } = machine();
    map(sys, t, BASE, 512);
    const tokens = writeAll(sys, t, BASE, 300);
    sys.access(t, BASE + 400 * PAGE, 'read'); // the zero page at 400
    sys.madvise(t, BASE, 2 * MiB, 'hugepage');
    sys.khugepaged({ fullScans: 1 });
    expect(sys.systemCounters().khugepaged_pages_collapsed).toBe(1);
    const want = [...tokens, ...new Array(212).fill(0)];
    expect(readAll(sys, t, BASE, 512)).toEqual(want);
    expect(sys.processCounters(t).AnonHugePages).toBe(2 * MiB);
    // collapse_huge_page maps the new PMD writable and dirty: a write needs no fault.
    const flt = sys.processCounters(t).min_flt;
    sys.access(t, BASE + 3 * PAGE, 'write');
    expect(sys.processCounters(t).min_flt).toBe(flt);
    expect(sys.systemCounters().thp_split_pmd).toBe(0);
  });

  it('a deferred split keeps the pages still mapped, with their contents', () => {
    const { sys, t } = machine('always');
    map(sys, t, BASE, 512);
    const tokens = writeAll(sys, t, BASE, 512);
    expect(sys.madvise(t, BASE, 256 * PAGE, 'dontneed').ok).toBe(true);
    expect(sys.systemCounters().thp_deferred_split_page).toBe(1);
    expect(sys.dropCaches(2)).toBeGreaterThan(0);
    expect(sys.systemCounters().thp_split_page).toBe(1);
    expect(readAll(sys, t, BASE + 256 * PAGE, 256)).toEqual(tokens.slice(256));
    expect(readAll(sys, t, BASE, 4)).toEqual([0, 0, 0, 0]);
  });

  it('one 2 MiB TLB entry serves the whole THP; a split drops it', () => {
    const { sys, t } = machine('always');
    map(sys, t, BASE, 512);
    sys.access(t, BASE, 'write');
    const tlb = sys.kernel.tlbs[0];
    expect(tlb.huge).toBe(1);
    const before = sys.processCounters(t);
    for (let i = 0; i < 512; i++) sys.access(t, BASE + i * PAGE, 'write');
    const after = sys.processCounters(t);
    expect([after.tlb_hits - before.tlb_hits, after.tlb_misses - before.tlb_misses]).toEqual([512, 0]);
    sys.mprotect(t, BASE, PAGE, 1);
    expect(tlb.huge).toBe(0);
  });
});
