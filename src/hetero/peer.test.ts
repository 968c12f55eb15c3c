import { describe, expect, it } from 'vitest';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';
import type { HmmDesign } from './hmm.js';
import { ownerOf, PEER_OWNER, sameOwner } from './owner.js';

const read = (addr: number, length = 4096) => ({
  addr,
  length,
  op: 'read' as const,
  pattern: 'sequential' as const,
  stride: 4096,
});

/** gpu0 and gpu1, peers or not; 4 written pages migrated to gpu1. */
function setup(peer0: boolean, peer1: boolean) {
  const machine = machineSpec(64 * 2 ** 20, {
    devices: [deviceSpec({ name: 'gpu0', peer: peer0 }), deviceSpec({ name: 'gpu1', peer: peer1 })],
  });
  const sys = new System({ machine, design: 'hmm', seed: 1, check: true });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu0')).toBeNull();
  expect(sys.attach(task, 'gpu1')).toBeNull();
  const r = sys.mmap(task, fixedAnon(0x200000000, 4 * 4096));
  if (!r.ok) throw new Error(r.errno);
  const addr = r.value;
  sys.touch(task, { addr, length: 4 * 4096, op: 'write', pattern: 'sequential' });
  expect(sys.migrate(task, 'gpu1', addr, 4 * 4096, 'device').error).toBeUndefined();
  const hmm = sys.hetero as HmmDesign;
  const [gpu0, gpu1] = hmm.devices;
  const mirror0 = hmm.mirrors.find((m) => m.dev === gpu0)!;
  return { sys, task, addr, hmm, gpu0, gpu1, mirror0 };
}

describe('peer access (hmm)', () => {
  it('devices with peer share one owner; a device without it owns its memory alone', () => {
    const { gpu0, gpu1 } = setup(true, true);
    expect(ownerOf(gpu0)).toBe(PEER_OWNER);
    expect(sameOwner(gpu0, gpu1)).toBe(true);
    const alone = setup(true, false);
    expect(ownerOf(alone.gpu1)).toBe(alone.gpu1.id);
    expect(sameOwner(alone.gpu0, alone.gpu1)).toBe(false);
  });

  it("a peer maps the owner's page and loses it when the owner evicts", () => {
    const { sys, task, addr, gpu1, mirror0 } = setup(true, true);
    expect(sys.deviceRun(task, 'gpu0', read(addr)).error).toBeUndefined();
    const pfn = Math.floor(mirror0.ctx.pt.lookup(addr / 4096) / 8);
    expect(gpu1.ownsFrame(pfn)).toBe(true);
    expect(sys.deviceCounters().gpu0.dev_peer_accesses).toBe(1);
    expect(sys.evict('gpu1')).toBe(4);
    expect(mirror0.ctx.pt.lookup(addr / 4096)).toBe(0); // the notifier dropped it
    expect(sys.check()).toEqual([]);
  });

  it('the checker refuses a device mapping a page of another owner', () => {
    const { sys, task, addr, gpu1, mirror0 } = setup(true, false);
    const pmap = task.mm!.pmap;
    const pfn = pmap.pteSwapSlot(pmap.pteLookup(addr / 4096));
    expect(gpu1.ownsFrame(pfn)).toBe(true);
    // Map gpu1's page in gpu0's table behind hmm_range_fault's back.
    mirror0.ctx.pt.map(addr / 4096, pfn, false);
    expect(sys.check().some((v) => v.includes("gpu1's page") && v.includes("not a peer's"))).toBe(true);
  });
});
