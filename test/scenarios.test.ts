// Every scenario in test/scenarios/ and examples/ runs with invariant checks after every
// step and must pass its own expectations (the kernel's numbers, written in the files), under
// each design it lists (`design: [hmm, gmem]`).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, parseScenario } from '../src/workload/parse.js';
import { runScenario } from '../src/workload/run.js';
import type { Scenario } from '../src/workload/scenario.js';

const dirs = ['test/scenarios', 'examples', 'validation'];

function load(file: string): Scenario | string {
  const parsed = parseScenario(readFileSync(file, 'utf8'), file);
  return parsed.ok ? parsed.scenario : parsed.errors.map(formatScenarioError).join('\n');
}

for (const dir of dirs) {
  describe(dir, () => {
    for (const f of readdirSync(dir)
      .filter((n) => /\.(ya?ml|json)$/.test(n))
      .sort()) {
      const file = join(dir, f);
      const sc = load(file);
      if (typeof sc === 'string') {
        it(f, () => {
          throw new Error(sc);
        });
        continue;
      }
      for (const design of sc.designs) {
        it(sc.designs.length > 1 ? `${f} (${design})` : f, () => {
          const report = runScenario({ ...sc, design }, { check: true });
          const failures = report.events
            .filter((e) => e.failure)
            .map((e) => `${e.loc.file}:${e.loc.line}: ${e.message}`);
          expect(failures).toEqual([]);
          expect(report.stepsRun).toBe(sc.steps.length);
        });
      }
    }
  });
}
