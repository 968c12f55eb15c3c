import { test } from 'vitest';
import { System } from '../src/sim/system.js';
test('smoke', () => {
  const s = new System({ machine: { cpus: 2, nodes: [64 * 2 ** 20], paging: 'x86-64-4level', tlb: { entries: 1536, ways: 12 }, maxMapCount: 65530 }, design: 'linux', seed: 1, check: true });
  const t = s.spawn('app', 0)!;
  const r = s.mmap(t, { addr: 0x400000000000, len: 2 ** 20, prot: 3, shared: false, fixed: true, fixedNoReplace: false, populate: false, locked: false, noreserve: false });
  console.log(r, [...t.mm!.vmas.entries()].map(([k, v]) => [k, v.start, v.end]));
  console.log(t.mm!.findVma(0x400000000000 / 4096 + 2), t.mm!.vmas.floor(0x400000000000 / 4096 + 2));
  const m = s.mprotect(t, 0x400000000000 + 8192, 8192, 1);
  console.log(m);
});
