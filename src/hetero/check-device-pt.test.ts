// The device page-table checks catch a large leaf that breaks the rules, a TLB entry for a
// large leaf that the table does not back, and a table left holding nothing or miscounting its
// entries (check-device-pt.ts), under both designs.

import { describe, expect, it } from 'vitest';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

const MiB = 2 ** 20;
const BASE = 0x200000000;
const VPN = BASE / 4096;

/** A process whose 2 MiB device page was migrated and is mapped by one 2 MiB leaf. */
function setup(design: 'hmm' | 'gmem') {
  const machine = machineSpec(64 * MiB, {
    devices: [deviceSpec({ memory: 8 * MiB, pageSize: 2 * MiB, placement: 'migrate' })],
  });
  const sys = new System({ machine, design, seed: 1, check: false });
  const t = sys.spawn('app', 0)!;
  expect(sys.attach(t, 'gpu')).toBeNull();
  expect(sys.mmap(t, fixedAnon(BASE, 2 * MiB, { peerShared: true })).ok).toBe(true);
  sys.touch(t, { addr: BASE, length: 2 * MiB, op: 'write', pattern: 'sequential' });
  expect(sys.migrate(t, 'gpu', BASE, 2 * MiB, 'device').error).toBeUndefined();
  const dev = sys.hetero!.devices[0];
  const ctx = dev.contexts.get(t.mm!.id)!;
  expect(ctx.pt.lookup(VPN)).not.toBe(0);
  expect(ctx.pt.leafPages).toBe(512);
  expect(sys.check()).toEqual([]);
  return { sys, dev, ctx };
}

describe('device page-table checks', () => {
  for (const design of ['hmm', 'gmem'] as const) {
    it(`${design}: a large leaf over system memory is refused`, () => {
      const { sys, ctx } = setup(design);
      ctx.pt.mapLarge(VPN + 512, 2048, false); // 2 MiB of system memory, aligned
      expect(sys.check().join('\n')).toMatch(/large leaf at vpn \d+ maps 2048, not the device's memory/);
    });

    it(`${design}: a table kept after its last entry went is refused`, () => {
      const { sys, ctx } = setup(design);
      // Clear the 2 MiB leaf behind the page table's back: its PD0 table is left empty and its
      // count of valid entries is wrong.
      const tables = (ctx.pt as unknown as { tables: Float64Array[] }).tables;
      let cleared = 0;
      for (const tab of tables)
        for (let i = 0; i < tab.length; i++)
          if ((tab[i] & 8) !== 0) {
            tab[i] = 0;
            cleared++;
          }
      expect(cleared).toBe(1);
      expect(sys.check().join('\n')).toMatch(/holds tables \d+ empty or miscounted/);
    });

    it(`${design}: unmapping the leaf frees the tables, and the check holds`, () => {
      const { sys, ctx } = setup(design);
      expect(ctx.pt.tablePages).toBe(3);
      expect(ctx.pt.unmap(VPN, VPN + 512)).toBe(512);
      expect(ctx.pt.tablePages).toBe(1);
      expect(sys.check().filter((m) => m.includes('checkDevicePageTable'))).toEqual([]);
    });

    it(`${design}: a 2 MiB TLB entry the table does not back is refused`, () => {
      const { sys, dev, ctx } = setup(design);
      const pfn = Math.floor(ctx.pt.lookup(VPN) / 8);
      dev.tlb.fillHuge(ctx.mm.id, VPN, pfn + 512, 0); // the next 2 MiB of device memory
      expect(sys.check().join('\n')).toMatch(/TLB caches vpn \d+ -> \d+, its page table disagrees/);
    });
  }
});
