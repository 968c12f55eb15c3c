// hmadvise(hnid, start, len, behaviour) (RFC patch 4/6): madvise with a heterogeneous node.
// MADV_PREFETCH moves [start, start + len), rounded out to 2 MiB, to the node's device in
// GM_WORK_CONCURRENCY (4) work items, each calling gm_dev_fault with the prefetch hint per
// huge page; MADV_DONTNEED (hnid -1 allowed) frees the range, rounded in to 2 MiB, wherever
// its pages are (gm_unmap_page_range). The syscall's checks and returns are the patch's:
// EINVAL for a bad hnid or behaviour, GM_RET_FAILURE_UNKNOWN (a positive 4, not an errno)
// when the prefetch range is not inside one VMA, EFAULT when a work item's fault failed.

import type { Errno } from '../lib/errno.js';
import type { Task } from '../mm/mm.js';
import { zapRange } from '../mm/unmap.js';
import { VM } from '../mm/vma.js';
import type { Device } from './device.js';
import { contextOf, type GmemCore, leaveDevice } from './gmem-core.js';
import { peerUnmap } from './gmem-dev.js';
import { GmRet, gmDevFault, releaseBlockPages } from './gmem-fault.js';
import { Gm } from './gmem-object.js';

/** HPAGE_SIZE in pages: hmadvise rounds to huge pages whatever the device's page size. */
const HPAGE = 512;
/** GM_WORK_CONCURRENCY */
export const GM_WORK_CONCURRENCY = 4;

export interface HmadviseResult {
  readonly error?: Errno;
  /** The syscall's non-negative return (GmRet.FAILURE_UNKNOWN is returned, not an errno). */
  readonly ret: number;
}

interface Hnodes {
  deviceByHnid(hnid: number): Device | undefined;
}

export function hmadvise(
  g: GmemCore,
  nodes: Hnodes,
  task: Task,
  hnid: number,
  addr: number,
  len: number,
  advice: 'prefetch' | 'dontneed',
): HmadviseResult {
  let dev: Device | undefined;
  if (hnid === -1) {
    if (advice !== 'dontneed') return { error: 'EINVAL', ret: -1 }; // "need hnid or is invalid"
  } else {
    if (hnid < 0) return { error: 'EINVAL', ret: -1 };
    dev = nodes.deviceByHnid(hnid);
    // is_hnode / is_hnode_allowed: gm_as_attach put the device's hnodes in mems_allowed.
    if (dev === undefined || contextOf(g, task.mm!, dev) === undefined) return { error: 'EINVAL', ret: -1 };
  }
  // check_add_overflow(addr, size): vmlab addresses are below 2^53, so it never fires here.
  return advice === 'prefetch' ? prefetch(g, task, dev!, addr, len) : eagerFree(g, task, addr, len);
}

/** hmadvise_do_prefetch */
function prefetch(g: GmemCore, task: Task, dev: Device, addr: number, len: number): HmadviseResult {
  const mm = task.mm!;
  const start = Math.floor(addr / 4096 / HPAGE) * HPAGE;
  const end = Math.ceil((addr + len) / 4096 / HPAGE) * HPAGE;
  const size = end - start;
  if (size === 0) return { ret: 0 };
  const vma = mm.findVma(start);
  if (vma === undefined || start < vma.start || end > vma.end) {
    dev.stats.gm_ret_failure++;
    return { ret: GmRet.FAILURE_UNKNOWN };
  }
  const c = contextOf(g, mm, dev)!;
  const perSize = Math.floor(size / GM_WORK_CONCURRENCY / HPAGE) * HPAGE;
  let failed = false;
  for (let s = start; s < end; ) {
    const n = perSize === 0 ? size : end - s < 2 * perSize ? end - s : perSize;
    dev.stats.gm_prefetch_works++; // queue_work(prefetch_wq, ...)
    // prefetch_work_cb: gm_dev_fault(MADV_WILLNEED) per huge page (per device page here).
    for (let b = s; b < s + n; b += Math.min(HPAGE, g.per)) {
      const r = gmDevFault(g, c, b, true, task.cpu);
      if (r !== GmRet.SUCCESS && r !== GmRet.PAGE_EXIST) failed = true;
    }
    s += n;
  }
  return failed ? { error: 'EFAULT', ret: -1 } : { ret: 0 };
}

/** hmadvise_do_eagerfree */
function eagerFree(g: GmemCore, task: Task, addr: number, len: number): HmadviseResult {
  const mm = task.mm!;
  let start = Math.ceil(addr / 4096 / HPAGE) * HPAGE;
  const end = Math.floor((addr + len) / 4096 / HPAGE) * HPAGE;
  if (start >= end) return { ret: 0 };
  const obj = g.objects.get(mm.id);
  do {
    const vma = mm.findVma(start); // find_vma_intersection
    if (vma === undefined || vma.start >= end) break; // "there is no valid vma"
    if ((vma.flags & VM.PEER_SHARED) !== 0 && obj !== undefined) {
      const s = Math.max(start, vma.start);
      const e = Math.min(end, vma.end);
      // gm_unmap_page_range, a device page at a time
      for (let b = Math.floor(s / g.per) * g.per; b < e; b += g.per) {
        const m = obj.lookup(b);
        if (m === undefined || m.is(Gm.NOMAP)) continue;
        const lo = Math.max(b, s) - b;
        const hi = Math.min(b + g.per, e) - b;
        if (m.is(Gm.CPU)) zapRange(g.k, vma, b + lo, b + hi, task.cpu); // zap_page_range_single
        const dev = m.dev;
        if (dev !== null) {
          dev.stats.lock_vm_object++; // gmem_unmap_vma_pages: xa_lock, then the entry's mutex
          dev.stats.lock_gm_mapping++;
        }
        releaseBlockPages(g, m, lo, hi);
        if (dev !== null) peerUnmap(contextOf(g, mm, dev)!, b + lo, b + hi, 0, true);
        // A device page another VMA shares keeps its other pages (vmlab; the series frees 2 MiB).
        if ((m.dpfns ?? m.held)?.some((p) => p >= 0) ?? false) continue;
        leaveDevice(g, m);
        m.held = null;
        m.set(Gm.NOMAP);
      }
    }
    start = vma.end;
  } while (start < end);
  return { ret: 0 };
}
