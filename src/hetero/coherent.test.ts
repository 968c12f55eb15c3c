import { describe, expect, it } from 'vitest';
import { COSTS } from '../sim/cost.js';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

const PAGES = 32;

const machine = machineSpec(32 * 2 ** 20, {
  swapBytes: 8 * 2 ** 20,
  oomKiller: false,
  devices: [deviceSpec({ memoryKind: 'coherent' })],
});

/** A process whose PAGES written pages sit in the device's coherent memory. */
function setup() {
  const sys = new System({ machine, design: 'hmm', seed: 1, check: true });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu')).toBeNull();
  const r = sys.mmap(task, fixedAnon(0x200000000, PAGES * 4096));
  if (!r.ok) throw new Error(r.errno);
  const addr = r.value;
  const tokens: number[] = [];
  for (let p = 0; p < PAGES; p++) tokens.push(sys.access(task, addr + p * 4096, 'write'));
  expect(sys.migrate(task, 'gpu', addr, PAGES * 4096, 'device').error).toBeUndefined();
  return { sys, task, addr, tokens };
}

describe('device-coherent memory', () => {
  it('the CPU reads it in place, each access charged as a crossing of the link', () => {
    const { sys, task, addr, tokens } = setup();
    const flt = sys.processCounters(task).min_flt;
    for (let p = 0; p < PAGES; p++) expect(sys.access(task, addr + p * 4096, 'read')).toBe(tokens[p]);
    expect(sys.processCounters(task).min_flt).toBe(flt);
    expect(sys.deviceCounters().gpu.dev_cpu_accesses).toBe(PAGES);
    expect(sys.estimatedTime().parts.coherent_access).toBe(PAGES * COSTS.coherent_access.ns);
  });

  it('reclaim and mlock pass it by; eviction brings it home with its contents', () => {
    const { sys, task, addr, tokens } = setup();
    // System pages beside them for reclaim to find.
    const other = sys.mmap(task, fixedAnon(0x300000000, 256 * 4096));
    if (!other.ok) throw new Error(other.errno);
    sys.touch(task, { addr: other.value, length: 256 * 4096, op: 'write', pattern: 'sequential' });
    const used = sys.deviceCounters().gpu.dev_memory_used;
    sys.balloon(32 * 2 ** 20 - 64 * 4096); // memory pressure: reclaim runs
    sys.balloon(0);
    const c = sys.systemCounters();
    expect(c.pswpout).toBeGreaterThan(0);
    expect(sys.deviceCounters().gpu.dev_memory_used).toBe(used);
    expect(sys.deviceCounters().gpu.dev_migrate_to_system).toBe(0);
    expect(sys.mlock(task, addr, PAGES * 4096).ok).toBe(true);
    expect(sys.systemCounters().Mlocked).toBe(0);
    expect(sys.evict('gpu')).toBe(PAGES);
    expect(sys.deviceCounters().gpu.dev_migrate_to_system).toBe(PAGES);
    // Back in system memory, under the mlock now.
    expect(sys.systemCounters().Mlocked).toBe(PAGES * 4096);
    // The pages and the tables that mapped them went (PTE, PD0, middle: each emptied); the root stays.
    expect(used).toBe((PAGES + 4) * 4096);
    expect(sys.deviceCounters().gpu.dev_memory_used).toBe(4096);
    expect(sys.deviceCounters().gpu.dev_pt_pages_freed).toBe(3);
    for (let p = 0; p < PAGES; p++) expect(sys.access(task, addr + p * 4096, 'read')).toBe(tokens[p]);
    expect(sys.check()).toEqual([]);
  });

  it('a second migrate to the device moves nothing (SELECT_SYSTEM skips coherent pages)', () => {
    const { sys, task, addr } = setup();
    expect(sys.migrate(task, 'gpu', addr, PAGES * 4096, 'device').error).toBeUndefined();
    expect(sys.deviceCounters().gpu.dev_migrate_to_device).toBe(PAGES);
  });
});
