// Unit tests of the gm_mmu VA operations: conflicts with the device's own ranges and with
// ranges already reserved; peer_va_free cuts reserved ranges; mprotect reaches the device
// through pmap_protect.

import { describe, expect, it } from 'vitest';
import { DevPte } from '../arch/device-mmu.js';
import { fixedAnon } from '../sim/fixtures.js';
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

describe('pmap_protect from mprotect', () => {
  // The bug: mprotect of peer-shared memory left the device's writable mappings in place,
  // so a device could write a read-only area (and the invariant checker objected).
  it('takes write access from the device mappings of a peer-shared area and gives it back', () => {
    const sys = new System({ machine, design: 'gmem', seed: 1, check: false });
    const t = sys.spawn('a', 0)!;
    expect(sys.attach(t, 'npu')).toBeNull();
    const addr = 0x40000000;
    const r = sys.mmap(t, fixedAnon(addr, 2 * 2 ** 20, { peerShared: true }));
    expect(r.ok).toBe(true);
    expect(
      sys.deviceRun(t, 'npu', { addr, length: 4096, op: 'write', pattern: 'sequential', stride: 4096 }).error,
    ).toBeUndefined();
    const dev = sys.hetero!.devices[0];
    const pt = [...dev.contexts.values()][0].pt;
    const vpn = addr / 4096;
    expect(pt.lookup(vpn) & DevPte.write).not.toBe(0);
    const invl = dev.stats.dev_tlb_invalidations;
    expect(sys.mprotect(t, addr, 2 * 2 ** 20, 1).ok).toBe(true);
    expect(pt.lookup(vpn) & DevPte.write).toBe(0);
    expect(pt.lookup(vpn + 511)).not.toBe(0); // still mapped, read-only
    expect(dev.stats.gm_pmap_protect).toBe(1);
    expect(dev.stats.dev_tlb_invalidations).toBe(invl + 1);
    expect(sys.check()).toEqual([]);
    expect(
      sys.deviceRun(t, 'npu', { addr, length: 4096, op: 'write', pattern: 'sequential', stride: 4096 }).error,
    ).toBe('EPERM');
    expect(sys.mprotect(t, addr, 2 * 2 ** 20, 3).ok).toBe(true);
    expect(pt.lookup(vpn) & DevPte.write).not.toBe(0);
    expect(dev.stats.gm_pmap_protect).toBe(2);
    expect(dev.stats.dev_tlb_invalidations).toBe(invl + 1); // gaining write needs no flush
    expect(
      sys.deviceRun(t, 'npu', { addr, length: 4096, op: 'write', pattern: 'sequential', stride: 4096 }).error,
    ).toBeUndefined();
    expect(sys.check()).toEqual([]);
  });
});
