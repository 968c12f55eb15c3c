// Unit tests of gmem's logical page table: entries, flags, and the metadata it costs.

import { describe, expect, it } from 'vitest';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { System } from '../sim/system.js';
import type { MachineSpec } from '../workload/scenario.js';
import { GM_MAPPING_BYTES, Gm, GmMapping, VM_OBJECT_BYTES, VmObject } from './gmem-object.js';

const machine: MachineSpec = {
  cpus: 1,
  nodes: [16 * 2 ** 20],
  paging: 'x86-64-4level',
  tlb: { entries: 64, ways: 4 },
  maxMapCount: 65530,
};

function kernelAndMm() {
  const sys = new System({ machine, design: 'linux', seed: 1, check: false });
  const t = sys.spawn('a', 0)!;
  return { k: sys.kernel, mm: t.mm! };
}

describe('gm_mapping flags', () => {
  it('starts NOMAP; a type flag replaces the type, WILLNEED adds to it', () => {
    const m = new GmMapping(512);
    expect(m.is(Gm.NOMAP)).toBe(true);
    m.set(Gm.DEVICE);
    expect(m.is(Gm.DEVICE) && !m.is(Gm.NOMAP)).toBe(true);
    m.set(Gm.WILLNEED);
    expect(m.is(Gm.DEVICE) && m.is(Gm.WILLNEED)).toBe(true);
    m.set(Gm.CPU);
    expect(m.flag).toBe(Gm.CPU | Gm.WILLNEED);
  });
});

describe('vm_object', () => {
  it('meters the object, each gm_mapping and the radix nodes, and gives them all back', () => {
    const { k, mm } = kernelAndMm();
    const o = new VmObject(k, mm);
    expect(k.meta.live.get('vm_object')).toBe(VM_OBJECT_BYTES);
    // Index 0 alone lives in the head: no node. Index 512 needs two levels of 64 slots: a
    // root, the leaf holding 512, and a leaf for index 0, which leaves the head: 3 nodes.
    const a = o.mappingCreate(0, 1);
    expect(k.meta.live.get('vm_object_xa_node') ?? 0).toBe(0);
    const b = o.mappingCreate(512, 2);
    expect(o.lpt.nodes).toBe(3);
    expect(k.meta.live.get('vm_object_xa_node')).toBe(3 * XA_NODE_BYTES);
    expect(k.meta.live.get('gm_mapping')).toBe(2 * GM_MAPPING_BYTES);
    expect(o.lookup(512)).toBe(b);
    expect(o.lookup(511)).toBeUndefined();
    expect(o.range(0, 512)).toEqual([a]);
    o.remove(a);
    expect(o.lookup(0)).toBeUndefined();
    o.drop();
    for (const n of ['vm_object', 'gm_mapping', 'vm_object_xa_node'] as const)
      expect(k.meta.live.get(n)).toBe(0);
    expect(k.meta.peak.get('vm_object_xa_node')).toBe(3 * XA_NODE_BYTES);
  });
});
