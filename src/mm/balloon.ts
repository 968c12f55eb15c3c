// A memory balloon (drivers/virtio/virtio_balloon.c): pages taken from the system and held
// by a driver until it lets them go, the way a hypervisor reclaims a guest's memory. Inflating
// allocates page by page through the normal allocator, so it wakes kswapd, reclaims and swaps;
// balloon_page_alloc asks with __GFP_NORETRY, so a page that one direct reclaim pass cannot
// make room for stops the inflation (fill_balloon: "Out of puff!") and the OOM killer is never
// called. Deflating frees the pages. Balloon pages are PageOffline: on no LRU list, never
// reclaimed.

import { PG } from '../phys/frames.js';
import type { Kernel } from './kernel.js';

export class Balloon {
  /** The pages held, most recent last. */
  readonly pages: number[] = [];
}

/**
 * Inflate or deflate the balloon to `target` pages. Returns the pages it holds afterwards
 * (fewer than the target when memory ran out).
 */
export function setBalloon(k: Kernel, target: number): number {
  const b = k.balloon;
  const f = k.phys.frames;
  while (b.pages.length > target) {
    const pfn = b.pages.pop()!;
    f.clear(pfn, PG.offline);
    f.refcount[pfn] = 0;
    k.freePage(pfn);
  }
  k.current = null;
  while (b.pages.length < target) {
    const pfn = k.phys.alloc(0, 0, true);
    if (pfn < 0) break;
    f.set(pfn, PG.offline);
    b.pages.push(pfn);
  }
  return b.pages.length;
}
