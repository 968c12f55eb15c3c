import { describe, expect, it } from 'vitest';
import { PteAttr } from '../arch/pmap.js';
import { deviceSpec, fixedAnon, machineSpec } from '../sim/fixtures.js';
import { System } from '../sim/system.js';

const machine = machineSpec(64 * 2 ** 20, { devices: [deviceSpec()] });

function setup() {
  const sys = new System({ machine, design: 'hmm', seed: 1, check: true });
  const task = sys.spawn('app', 0)!;
  expect(sys.attach(task, 'gpu')).toBeNull();
  const r = sys.mmap(task, fixedAnon(0x200000000, 64 * 4096));
  if (!r.ok) throw new Error(r.errno);
  return { sys, task, addr: r.value };
}

describe('the hmm design', () => {
  it('a device write is what the CPU reads, and contents move with each migration', () => {
    const { sys, task, addr } = setup();
    expect(sys.access(task, addr, 'read')).toBe(0); // the zero page
    expect(
      sys.deviceRun(task, 'gpu', { addr, length: 4096, op: 'write', pattern: 'sequential', stride: 4096 })
        .error,
    ).toBeUndefined();
    const written = sys.kernel.phys.lastToken;
    expect(sys.access(task, addr, 'read')).toBe(written);
    const cpuWrite = sys.access(task, addr + 4096, 'write');
    expect(sys.migrate(task, 'gpu', addr, 2 * 4096, 'device').error).toBeUndefined();
    expect(sys.deviceCounters().gpu.dev_migrate_to_device).toBe(2);
    // The CPU touch brings each page back with its contents.
    expect(sys.access(task, addr, 'read')).toBe(written);
    expect(sys.access(task, addr + 4096, 'read')).toBe(cpuWrite);
    expect(sys.deviceCounters().gpu.dev_cpu_faults).toBe(2);
    expect(sys.check()).toEqual([]);
  });

  it('the checker finds a device mapping the CPU side no longer allows', () => {
    const { sys, task, addr } = setup();
    sys.access(task, addr, 'write');
    sys.deviceRun(task, 'gpu', { addr, length: 4096, op: 'write', pattern: 'sequential', stride: 4096 });
    expect(sys.check()).toEqual([]);
    // Write-protect the CPU entry behind the notifier's back, as a missing hook would.
    const pmap = task.mm!.pmap;
    pmap.pteUpdate(pmap.pteLookup(addr / 4096), 0, PteAttr.write);
    expect(sys.check().some((v) => v.includes('writable, the CPU entry is read-only'))).toBe(true);
  });

  it('nothing is left in device memory after exit', () => {
    const { sys, task, addr } = setup();
    sys.touch(task, { addr, length: 64 * 4096, op: 'write', pattern: 'sequential' });
    sys.migrate(task, 'gpu', addr, 32 * 4096, 'device');
    sys.deviceRun(task, 'gpu', { addr, length: 64 * 4096, op: 'read', pattern: 'sequential', stride: 4096 });
    expect(sys.deviceCounters().gpu.dev_memory_used).toBeGreaterThan(32 * 4096);
    sys.exit(task);
    expect(sys.deviceCounters().gpu.dev_memory_used).toBe(0);
    expect(sys.kernel.phys.hnodeFreePages(0)).toBe(16 * 256);
    expect(sys.check()).toEqual([]);
  });

  it('migrate splits a THP mapped by parent and child and moves its pages, contents intact', () => {
    const thp = {
      enabled: 'always' as const,
      useZeroPage: true,
      pagesToScan: 4096,
      maxPtesNone: 511,
      maxPtesSwap: 64,
      maxPtesShared: 256,
    };
    const sys = new System({ machine: { ...machine, thp }, design: 'hmm', seed: 1, check: true });
    const task = sys.spawn('app', 0)!;
    expect(sys.attach(task, 'gpu')).toBeNull();
    const len = 2 * 2 ** 20;
    const r = sys.mmap(task, fixedAnon(0x200000000, len));
    if (!r.ok) throw new Error(r.errno);
    const tokens: number[] = [];
    for (let p = 0; p < 512; p++) tokens.push(sys.access(task, r.value + p * 4096, 'write'));
    expect(sys.processCounters(task).AnonHugePages).toBe(len);
    const child = sys.fork(task, 'child')!;
    expect(sys.migrate(task, 'gpu', r.value, len, 'device').error).toBeUndefined();
    const c = sys.systemCounters();
    expect(c.thp_split_page).toBe(1);
    expect(c.thp_split_pmd).toBe(2); // the parent's PMD and the child's
    expect(c.dev_migrate_to_device).toBe(512);
    // The child's entries became device-private too (try_to_migrate through the rmap).
    for (let p = 0; p < 512; p += 97) expect(sys.access(child, r.value + p * 4096, 'read')).toBe(tokens[p]);
    for (let p = 0; p < 512; p += 97) expect(sys.access(task, r.value + p * 4096, 'read')).toBe(tokens[p]);
    expect(sys.check()).toEqual([]);
  });
});
