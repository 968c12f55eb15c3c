// Device-private page owners (struct dev_pagemap's `owner`, Linux 6.x). hmm_range_fault reports
// a device-private page as it is, without faulting it back to system memory, when the page's
// pgmap owner is the range's dev_private_owner (mm/hmm.c, hmm_vma_handle_pte), and
// migrate_vma_setup with MIGRATE_VMA_SELECT_DEVICE_PRIVATE collects only device-private pages
// whose owner is the caller's pgmap_owner (mm/migrate_device.c, migrate_vma_collect_pmd). A
// driver whose devices reach each other's memory over a private interconnect gives them one
// owner (amdgpu: the XGMI hive, SVM_ADEV_PGMAP_OWNER); dmirror gives each device its own.
// vmlab: every device with `peer: true` has the shared owner PEER_OWNER; any other device owns
// its memory alone (its id).

import type { Device } from './device.js';

/** The owner shared by every device with `peer: true` (a device id is never negative). */
export const PEER_OWNER = -1;

/** The pgmap owner of dev's memory, and the dev_private_owner its driver passes. */
export function ownerOf(dev: Device): number {
  return dev.spec.peer ? PEER_OWNER : dev.id;
}

/** Whether a and b have one owner: the same device, or two peers. */
export function sameOwner(a: Device, b: Device): boolean {
  return ownerOf(a) === ownerOf(b);
}
