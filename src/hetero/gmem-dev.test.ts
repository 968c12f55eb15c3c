// Unit tests of the gm_mmu VA operations: conflicts with the device's own ranges and with
// ranges already reserved; peer_va_free cuts reserved ranges.

import { describe, expect, it } from 'vitest';
import { System } from '../sim/system.js';
import type { MachineSpec } from '../workload/scenario.js';
import { gmAsAttach, gmAsDetach, peerVaAllocFixed, peerVaFree } from './gmem-dev.js';

const machine: MachineSpec = {
  cpus: 1,
  nodes: [16 * 2 ** 20],
  paging: 'x86-64-4level',
  tlb: { entries: 64, ways: 4 },
  maxMapCount: 65530,
  devices: [
    {
      name: 'npu',
      memory: 4 * 2 ** 20,
      pageSize: 2 * 2 ** 20,
      tlb: { entries: 16, ways: 4 },
      replayableFaults: true,
      faultBatch: 16,
      peer: false,
      link: { bandwidth: 2 ** 30, latencyNs: 500 },
      placement: 'remote',
      reserved: [{ addr: 0x100000, length: 0x10000 }], // pages 256..271
    },
  ],
};

describe('peer_va_alloc_fixed / peer_va_free', () => {
  it('refuses the device’s own ranges and overlaps, frees pieces, counts each call', () => {
    const sys = new System({ machine, design: 'gmem', seed: 1, check: false });
    const t = sys.spawn('a', 0)!;
    const dev = sys.hetero!.devices[0];
    const c = gmAsAttach(dev, t.mm!)!;
    expect(peerVaAllocFixed(c, 270, 300)).toBe(false); // meets the reserved 256..271
    expect(peerVaAllocFixed(c, 272, 300)).toBe(true);
    expect(peerVaAllocFixed(c, 299, 310)).toBe(false); // meets 272..300
    peerVaFree(c, 280, 290);
    expect(c.vas.sort((a, b) => a[0] - b[0])).toEqual([
      [272, 280],
      [290, 300],
    ]);
    expect(peerVaAllocFixed(c, 280, 290)).toBe(true);
    expect(dev.stats.gm_peer_va_alloc_fixed).toBe(4);
    expect(dev.stats.gm_va_conflicts).toBe(2);
    expect(dev.stats.gm_peer_va_free).toBe(1);
    gmAsDetach(c);
    expect(dev.stats.gm_pmap_create).toBe(1);
    expect(dev.stats.gm_pmap_destroy).toBe(1);
    expect(dev.memoryUsed).toBe(0);
  });
});
