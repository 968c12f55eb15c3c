// The differential property test's view of vmlab's address spaces (test/property-run.ts):
// its VMAs against the reference model's pages, and how addresses and results are shown.

import type { Task } from '../src/mm/mm.js';
import { type CallResult, PAGE_SIZE, type PageInfo, type ReferenceModel } from './reference-model.js';

const VM_SHARED = 0x8;
const VM_LOCKED = 0x2000;
const VM_LOCKONFAULT = 0x80000;
const VM_DONTCOPY = 0x20000;
const VM_WIPEONFORK = 0x2000000;

export const PROT_NAMES = ['---', 'r--', '-w-', 'rw-', '--x', 'r-x', '-wx', 'rwx'];

/**
 * vmlab's VMAs of the task cover exactly the model's pages, with the same prot, lock, backing
 * (anonymous, shmem, or which page of which file, shared or private) and fork advice.
 */
export function compareMaps(model: ReferenceModel, p: number, task: Task): string | null {
  let n = 0;
  for (const v of task.mm!.vmas.values()) {
    for (let vpn = v.start; vpn < v.end; vpn++) {
      n++;
      const m = model.pageInfo(p, vpn);
      if (m === undefined) return `maps: vmlab maps ${addr(vpn)}, the model does not`;
      const got: PageInfo = {
        prot: v.flags & 7,
        locked: (v.flags & VM_LOCKED) !== 0,
        onfault: (v.flags & VM_LOCKONFAULT) !== 0,
        backing:
          v.file === null
            ? 'anon'
            : v.file.inode.isShmem()
              ? 'shm'
              : `${v.file.inode.name} ${(v.flags & VM_SHARED) !== 0 ? 'shared' : 'private'} @${v.pageIndex(vpn)}`,
        dontfork: (v.flags & VM_DONTCOPY) !== 0,
        wipeonfork: (v.flags & VM_WIPEONFORK) !== 0,
      };
      const a = describePage(got);
      const b = describePage(m);
      if (a !== b) return `maps: ${addr(vpn)} is ${a} in vmlab, ${b} in the model`;
    }
  }
  if (n !== model.mappedCount(p)) return `maps: vmlab maps ${n} pages, the model ${model.mappedCount(p)}`;
  return null;
}

function describePage(m: PageInfo): string {
  return (
    PROT_NAMES[m.prot] +
    (m.locked ? ' locked' : '') +
    (m.onfault ? ' onfault' : '') +
    ` ${m.backing}` +
    (m.dontfork ? ' dontfork' : '') +
    (m.wipeonfork ? ' wipeonfork' : '')
  );
}

export function addr(page: number): string {
  return `0x${(page * PAGE_SIZE).toString(16)}`;
}

export function show(r: CallResult): string {
  return r.ok ? (r.value >= PAGE_SIZE ? addr(r.value / PAGE_SIZE) : String(r.value)) : r.errno;
}
