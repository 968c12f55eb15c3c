// The hmm driver with policies, through the System: contents survive oversubscription
// (eviction), and each eviction policy keeps device memory consistent.

import { describe, expect, it } from 'vitest';
import { deviceSpec, fixedAnon } from '../sim/fixtures.js';
import { System } from '../sim/system.js';
import type { MachineSpec } from '../workload/scenario.js';
import type { DeviceSpec } from './device.js';
import { DEFAULT_POLICIES, type EvictionName } from './policy.js';

const MiB = 2 ** 20;
const BASE = 0x200000000;

function gpu(eviction: EvictionName): DeviceSpec {
  return deviceSpec({
    memory: 4 * MiB,
    placement: 'migrate',
    policies: { ...DEFAULT_POLICIES, eviction: { policy: eviction } },
  });
}

function machine(eviction: EvictionName): MachineSpec {
  return {
    cpus: 1,
    nodes: [128 * MiB],
    paging: 'x86-64-4level',
    tlb: { entries: 64, ways: 4 },
    maxMapCount: 65530,
    devices: [gpu(eviction)],
  };
}

/** 8 MiB written by the CPU, read then written by a device with 4 MiB, read back by the CPU. */
function oversubscribe(eviction: EvictionName, check: boolean) {
  const sys = new System({ machine: machine(eviction), design: 'hmm', seed: 3, check });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu')).toBeNull();
  const pages = 2048;
  const m = sys.mmap(task, fixedAnon(BASE, pages * 4096));
  expect(m.ok).toBe(true);
  const ref: number[] = [];
  for (let p = 0; p < pages; p++) ref.push(sys.access(task, BASE + p * 4096, 'write'));
  const kernel = { addr: BASE, length: pages * 4096, pattern: 'sequential' as const, stride: 4096 };
  expect(sys.deviceRun(task, 'gpu', { ...kernel, op: 'read' }).error).toBeUndefined();
  if (check) expect(sys.check()).toEqual([]);
  // Every page the device reads back holds what the CPU wrote.
  for (let p = 0; p < pages; p += 97) {
    const one = sys.deviceRun(task, 'gpu', { ...kernel, addr: BASE + p * 4096, length: 4096, op: 'read' });
    expect(one.lastToken).toBe(ref[p]);
  }
  const before = sys.kernel.phys.lastToken;
  expect(sys.deviceRun(task, 'gpu', { ...kernel, op: 'write' }).error).toBeUndefined();
  for (let p = 0; p < pages; p++) {
    const t = sys.access(task, BASE + p * 4096, 'read');
    expect(t).toBeGreaterThan(before); // the device's write, wherever the page went since
  }
  if (check) expect(sys.check()).toEqual([]);
  return sys;
}

describe('hmm oversubscription', () => {
  it('lru: contents survive eviction; device memory holds the latest chunks', () => {
    const sys = oversubscribe('lru', true);
    const c = sys.systemCounters();
    expect(c.dev_evictions).toBeGreaterThan(0);
    expect(c.dev_evicted_pages).toBeLessThanOrEqual(c.dev_migrate_to_system);
    sys.exit(sys.kernel.tasks.values().next().value!);
    expect(sys.hetero!.devices[0].memoryUsed).toBe(0);
  });

  it('random: contents survive eviction too', () => {
    const sys = oversubscribe('random', false);
    expect(sys.systemCounters().dev_evictions).toBeGreaterThan(0);
    expect(sys.check()).toEqual([]);
  });

  it('none: the device runs out of memory for its page tables', () => {
    // Pages 1019-1023 find no frame and stay in system memory (hmm-device-memory-full.yaml);
    // page 1024 starts a 2 MiB range that needs a new leaf table: none left, ENOMEM.
    const sys = new System({ machine: machine('none'), design: 'hmm', seed: 3, check: false });
    const task = sys.spawn('app', 0)!;
    expect(sys.attach(task, 'gpu')).toBeNull();
    sys.mmap(task, fixedAnon(BASE, 8 * MiB));
    for (let p = 0; p < 2048; p++) sys.access(task, BASE + p * 4096, 'write');
    const r = sys.deviceRun(task, 'gpu', {
      addr: BASE,
      length: 8 * MiB,
      op: 'read',
      pattern: 'sequential',
      stride: 4096,
    });
    expect(r.error).toBe('ENOMEM');
    const c = sys.systemCounters();
    expect(c.dev_evictions).toBe(0);
    expect(c.dev_migrate_to_device).toBe(1019);
  });
});
