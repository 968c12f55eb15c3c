// gmem's `migrate` to a device: gm_dev_fault with the prefetch hint for every VMA the range
// meets in each device page. The bug: one call per device page moved only the first VMA's
// part of it, so pages of the range in the other VMAs stayed on the CPU.

import { describe, expect, it } from 'vitest';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

describe('gmem migrate', () => {
  it('moves every page of a range that spans two VMAs of one device page', () => {
    const sys = new System({
      machine: machineSpec(64 * 2 ** 20, { devices: [deviceSpec({ pageSize: 2 * 2 ** 20 })] }),
      design: 'gmem',
      seed: 1,
      check: true,
    });
    const t = sys.spawn('a', 0)!;
    expect(sys.attach(t, 'gpu')).toBeNull();
    const addr = 0x40000000;
    expect(sys.mmap(t, fixedAnon(addr, 4 * 4096, { peerShared: true })).ok).toBe(true);
    sys.touch(t, { addr, length: 4 * 4096, op: 'write', pattern: 'sequential', stride: 4096 });
    expect(sys.mprotect(t, addr, 2 * 4096, 1).ok).toBe(true); // two VMAs: r, then rw
    const out = sys.migrate(t, 'gpu', addr, 4 * 4096, 'device');
    expect(out.error).toBeUndefined();
    expect(out.cpages).toBe(4);
    expect(sys.systemCounters().AnonPages).toBe(0);
    expect(sys.check()).toEqual([]);
  });
});
