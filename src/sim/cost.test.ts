import { describe, expect, it } from 'vitest';
import { COSTS } from './cost.js';
import { deviceSpec, fixedAnon, machineSpec } from './fixtures.js';
import { System } from './system.js';

const MiB = 2 ** 20;

function run(costs?: Record<string, number>) {
  const sys = new System({
    machine: {
      cpus: 1,
      nodes: [64 * MiB],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
      ...(costs && { costs }),
    },
    design: 'linux',
    seed: 1,
    check: false,
  });
  const t = sys.spawn('a', 0)!;
  const base = 0x7f00_0000_0000;
  sys.mmap(t, fixedAnon(base, MiB));
  sys.touch(t, { addr: base, length: MiB, op: 'write', pattern: 'sequential' });
  const child = sys.fork(t, 'c')!;
  sys.touch(child, { addr: base, length: MiB, op: 'write', pattern: 'sequential' });
  return sys;
}

describe('cost model', () => {
  it('charges each counted event its constant and sums the categories', () => {
    const sys = run();
    const c = sys.systemCounters();
    const { total, parts } = sys.estimatedTime();
    // 256 first-touch faults plus 256 copy-on-write faults in the child.
    expect(c.pgfault).toBe(512);
    expect(parts.fault).toBe(512 * COSTS.fault.ns);
    expect(c.pages_copied).toBe(256);
    expect(parts.page_copy).toBe(256 * COSTS.page_copy.ns);
    expect(c.ptes_copied).toBe(256);
    expect(parts.pte_copy).toBe(256 * COSTS.pte_copy.ns);
    // Zeroed: the 256 first-touch pages and every page-table page (each process: PGD, PUD, PMD, PTE).
    expect(parts.page_zero).toBe((256 + 8) * COSTS.page_zero.ns);
    expect(total).toBe(Object.values(parts).reduce((a, b) => a + b, 0));
    expect(c.est_time).toBe(total);
  });

  it('takes the machine’s constants where given', () => {
    const base = run().estimatedTime();
    const dear = run({ page_copy: 4000 }).estimatedTime();
    expect(dear.parts.page_copy).toBe(10 * base.parts.page_copy);
    expect(dear.total - base.total).toBe(dear.parts.page_copy - base.parts.page_copy);
  });

  it('charges gmem the device page-table updates it makes outside a fault (gm_mmu_op)', () => {
    const machine = machineSpec(256 * MiB, {
      devices: [deviceSpec({ memory: 64 * MiB, pageSize: 2 * MiB, placement: 'migrate' })],
    });
    const sys = new System({ machine, design: 'gmem', seed: 1, check: true });
    const t = sys.spawn('a', 0)!;
    expect(sys.attach(t, 'gpu')).toBeNull();
    const base = 0x2_0000_0000;
    expect(sys.mmap(t, fixedAnon(base, 4 * MiB, { peerShared: true })).ok).toBe(true);
    const req = { addr: base, length: 4 * MiB, op: 'read', pattern: 'sequential', stride: 4096 } as const;
    expect(sys.deviceRun(t, 'gpu', req).error).toBeUndefined();
    // mprotect reaches the one device (one pmap_protect); munmap_in_peer_devices unmaps the
    // two 2 MiB device pages (two peer_unmaps).
    expect(sys.mprotect(t, base, 4 * MiB, 1).ok).toBe(true);
    expect(sys.munmap(t, base, 4 * MiB).ok).toBe(true);
    const c = sys.systemCounters();
    expect([c.gm_pmap_protect, c.gm_peer_unmap]).toEqual([1, 2]);
    expect(sys.estimatedTime().parts.gm_mmu_op).toBe(3 * COSTS.gm_mmu_op.ns);
  });
});
