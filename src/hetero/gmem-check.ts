// gmem's invariants (run with the core's after every step):
// - a page is owned in exactly one place: a page of a gm_mapping is on a device (DEVICE), held
//   in host memory after an eviction, or in the CPU page table, never two of these;
// - the logical page table, the CPU page table and the device page tables agree: a device
//   maps exactly the device frames its DEVICE entries name, at their addresses, writable only
//   in writable areas; entries live only in peer-shared areas; device page tables account for
//   their tables, map large leaves over whole blocks of device memory, and their TLBs hold
//   nothing the table does not (check-device-pt.ts);
// - memory adds up: each device's used frames are its page-table pages plus the frames DEVICE
//   entries hold; the held set is exactly the entries' held frames; metadata meters match.
// Reads only; changes nothing.

import { PmdState } from '../arch/pmap.js';
import { XA_NODE_BYTES } from '../lib/xarray.js';
import { VM } from '../mm/vma.js';
import { checkDevicePageTable } from './check-device-pt.js';
import type { Device } from './device.js';
import type { GmemCore } from './gmem-core.js';
import { GM_MAPPING_BYTES, Gm, VM_OBJECT_BYTES } from './gmem-object.js';

export function checkGmem(g: GmemCore, devices: readonly Device[]): string[] {
  const bad: string[] = [];
  const k = g.k;
  const owned = new Map<number, string>(); // device frame -> owner
  const held = new Set<number>();
  let mappings = 0;
  let nodes = 0;
  for (const [mmId, obj] of g.objects) {
    nodes += obj.lpt.nodes;
    mappings += obj.mappings.size;
    if (obj.lpt.size !== obj.mappings.size)
      bad.push(
        `checkGmem: vm_object of mm ${mmId} has ${obj.lpt.size} radix entries, ${obj.mappings.size} mappings`,
      );
    for (const m of obj.mappings.values()) {
      const type = m.flag & Gm.TYPE_MASK;
      if (type !== Gm.CPU && type !== Gm.DEVICE && type !== Gm.NOMAP)
        bad.push(`checkGmem: gm_mapping at vpn ${m.vpn} has flags 0x${m.flag.toString(16)}`);
      if ((type === Gm.DEVICE) !== (m.dev !== null && m.dpfns !== null))
        bad.push(`checkGmem: gm_mapping at vpn ${m.vpn} DEVICE=${type === Gm.DEVICE} but dev/pages disagree`);
      if (m.held !== null && type !== Gm.CPU)
        bad.push(`checkGmem: gm_mapping at vpn ${m.vpn} holds pages but is not CPU`);
      if (m.dev !== null && !g.resident.get(m.dev)!.has(m))
        bad.push(`checkGmem: gm_mapping at vpn ${m.vpn} is on ${m.dev.spec.name} but not in its LRU`);
      const ctx = m.dev === null ? undefined : m.dev.contexts.get(mmId);
      if (m.dev !== null) {
        const n = m.dpfns!.reduce((a, p) => a + (p >= 0 ? 1 : 0), 0);
        if (m.dev.eviction.pages(m.id) !== n)
          bad.push(
            `checkGmem: eviction policy counts ${m.dev.eviction.pages(m.id)} pages of vpn ${m.vpn}, it has ${n}`,
          );
      }
      for (let i = 0; i < g.per; i++) {
        const vpn = m.vpn + i;
        const d = m.dpfns === null ? -1 : m.dpfns[i];
        const hp = m.held === null ? -1 : m.held[i];
        if (d < 0 && hp < 0) continue;
        const mm = obj.mm;
        const vma = mm.vmaAt(vpn);
        if (vma === undefined || (vma.flags & VM.PEER_SHARED) === 0)
          bad.push(`checkGmem: vpn ${vpn} of mm ${mmId} has a page but no peer-shared area`);
        const h = mm.pmap.pteLookup(vpn);
        // A huge PMD has no PTE table: it maps the page too.
        if ((h >= 0 && !mm.pmap.pteNone(h)) || mm.pmap.pmdState(vpn) === PmdState.huge)
          bad.push(
            `checkGmem: vpn ${vpn} of mm ${mmId} is in the CPU page table and ${d >= 0 ? 'on a device' : 'held'}`,
          );
        if (d >= 0 && hp >= 0) bad.push(`checkGmem: vpn ${vpn} is both on a device and held`);
        if (hp >= 0) {
          if (held.has(hp)) bad.push(`checkGmem: host frame ${hp} held twice`);
          held.add(hp);
          if (hp >= k.phys.cpuFrames) bad.push(`checkGmem: held frame ${hp} is not system memory`);
        }
        if (d >= 0) {
          if (owned.has(d)) bad.push(`checkGmem: device frame ${d} owned by ${owned.get(d)} and vpn ${vpn}`);
          owned.set(d, `vpn ${vpn}`);
          const e = ctx === undefined ? 0 : ctx.pt.lookup(vpn);
          // Unmapped is allowed: mprotect(PROT_NONE) dropped the entry and the data stays in
          // device memory (the next device fault in a readable area maps it again).
          const readable = vma !== undefined && (vma.flags & VM.READ) !== 0;
          if (e !== 0 && !readable)
            bad.push(`checkGmem: ${m.dev!.spec.name} maps vpn ${vpn} in an area it may not read`);
          else if (e !== 0 && Math.floor(e / 8) !== d)
            bad.push(`checkGmem: ${m.dev!.spec.name} maps vpn ${vpn} to another frame than its ${d}`);
          else if (e !== 0 && (e & 2) !== 0 && (vma === undefined || (vma.flags & VM.WRITE) === 0))
            bad.push(`checkGmem: ${m.dev!.spec.name} maps vpn ${vpn} writable in a read-only area`);
        }
      }
    }
  }
  if (held.size !== g.held.size) bad.push(`checkGmem: ${g.held.size} frames held, entries hold ${held.size}`);
  const meter = (n: string) => k.meta.live.get(n as never) ?? 0;
  if (mappings * GM_MAPPING_BYTES !== meter('gm_mapping'))
    bad.push(`checkGmem: ${mappings} gm_mappings, meter says ${meter('gm_mapping')} B`);
  if (nodes * XA_NODE_BYTES !== meter('vm_object_xa_node'))
    bad.push(`checkGmem: ${nodes} radix nodes, meter says ${meter('vm_object_xa_node')} B`);
  if (g.objects.size * VM_OBJECT_BYTES !== meter('vm_object'))
    bad.push(`checkGmem: ${g.objects.size} vm_objects, meter says ${meter('vm_object')} B`);
  const free = new Set<number>();
  k.phys.forEachFreeDevice((pfn, order) => {
    for (let i = 0; i < 1 << order; i++) free.add(pfn + i);
  });
  let tables = 0;
  for (const dev of devices) {
    const node = k.phys.hnodes[dev.hnode];
    let used = 0;
    let pages = 0;
    for (let p = node.startPfn; p < node.startPfn + node.nframes; p++) {
      if (free.has(p)) continue;
      used++;
      if (owned.has(p)) pages++;
    }
    let devTables = 0;
    for (const c of dev.contexts.values()) {
      devTables += c.pt.tablePages;
      // Every translation the device has (each page of a large leaf) is one a DEVICE entry owns.
      c.pt.forEach((vpn, pfn) => {
        if (owned.get(pfn) !== `vpn ${vpn}`)
          bad.push(`checkGmem: ${dev.spec.name} maps vpn ${vpn} to ${pfn}, which no DEVICE entry owns there`);
      });
      // Its tables add up, large leaves map whole blocks of its memory, its TLB agrees.
      checkDevicePageTable(k, dev, c, bad);
    }
    tables += devTables;
    if (pages !== dev.privatePages)
      bad.push(`checkGmem: ${dev.spec.name} counts ${dev.privatePages} pages, entries own ${pages}`);
    if (used !== pages + devTables)
      bad.push(`checkGmem: ${dev.spec.name} has ${used} frames in use: ${pages} pages + ${devTables} tables`);
  }
  if (tables * 4096 !== meter('device_page_table'))
    bad.push(
      `checkGmem: device_page_table meter ${meter('device_page_table')} B, tables hold ${tables * 4096}`,
    );
  return bad;
}
