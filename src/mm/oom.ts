// The OOM killer (mm/oom_kill.c): when reclaim cannot free memory for an allocation, the
// process with the highest badness is killed and its memory freed (the OOM reaper's work is
// done at once). oom_badness: resident pages + swap entries + page-table pages, with
// oom_score_adj 0 for every process; on a tie the process found last wins, as
// select_bad_process takes an equal score over the one chosen before.

import { closeFiles } from './file-io.js';
import type { Kernel } from './kernel.js';
import { MmCounter, type Task } from './mm.js';
import { exitMmap } from './unmap.js';

/** A kill, for the report. */
export interface OomKill {
  readonly pid: number;
  readonly name: string;
  /** oom_badness of the victim, pages. */
  readonly points: number;
  /** Memory the victim held: anon, file and shmem RSS, pages. */
  readonly rss: number;
}

/** oom_badness */
export function oomBadness(task: Task): number {
  const mm = task.mm;
  if (mm === null) return -1;
  return mm.rssPages + mm.rss[MmCounter.SWAPENTS] + mm.pmap.pgtablesBytes / 4096;
}

/**
 * out_of_memory: choose and kill a victim. The allocating task, if chosen, is only marked
 * (it finishes its allocation from the reserves and dies on its way back to user space);
 * another victim's address space is torn down at once. False when there is none to kill.
 */
export function outOfMemory(k: Kernel): boolean {
  if (!k.config.oomKiller) return false;
  let victim: Task | null = null;
  let best = -1;
  for (const t of k.tasks.values()) {
    if (t.mm === null || t.oomKilled) continue;
    const points = oomBadness(t);
    if (points >= best && points >= 0) {
      best = points;
      victim = t;
    }
  }
  if (victim === null) return false;
  k.vmstat.oom_kill++;
  victim.oomKilled = true;
  k.oomKills.push({ pid: victim.pid, name: victim.name, points: best, rss: victim.mm!.rssPages });
  if (victim === k.current) return true;
  reap(k, victim);
  return true;
}

/** The victim's memory goes (exit_mmap), its files are closed; the task record stays for the report. */
export function reap(k: Kernel, task: Task): void {
  if (task.mm === null) return;
  exitMmap(k, task.mm);
  closeFiles(k, task);
  task.mm = null;
}
