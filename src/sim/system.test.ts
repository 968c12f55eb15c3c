import { describe, expect, it } from 'vitest';
import { System } from './system.js';

function machine(): System {
  return new System({
    machine: {
      cpus: 1,
      nodes: [64 * 1024 * 1024],
      paging: 'x86-64-4level',
      tlb: { entries: 64, ways: 4 },
      maxMapCount: 65530,
    },
    design: 'linux',
    seed: 1,
    check: true,
  });
}

describe('System.filePageToken', () => {
  it('reads what a read would find (cache, else disk, else zeros) and changes nothing', () => {
    const sys = machine();
    const t = sys.spawn('app', 0)!;
    expect(sys.createFile('f', 3 * 4096, false).ok).toBe(true);
    const disk = [0, 1, 2].map((i) => sys.filePageToken('f', i)!);
    expect(new Set(disk).size).toBe(3);
    expect(disk.every((x) => x > 0)).toBe(true);
    const before = sys.systemCounters();
    expect(sys.filePageToken('f', 1)).toBe(disk[1]);
    expect(sys.systemCounters()).toEqual(before); // no page read in, nothing counted
    // A write makes new contents in the cache; the disk keeps the old until writeback.
    expect(sys.write(t, 'f', 4096, 10)).toEqual({ ok: true, value: 10 });
    const written = sys.filePageToken('f', 1)!;
    expect(written).not.toBe(disk[1]);
    sys.fsync(t, 'f');
    sys.dropCaches(1);
    expect(sys.filePageToken('f', 1)).toBe(written);
    // Grown by truncate: a hole, zeros.
    expect(sys.truncate(t, 'f', 5 * 4096).ok).toBe(true);
    expect(sys.filePageToken('f', 4)).toBe(0);
    expect(sys.filePageToken('nofile', 0)).toBeUndefined();
  });
});
