// Every scenario in test/scenarios/ and examples/ runs with invariant checks after every
// step and must pass its own expectations (the kernel's numbers, written in the files).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, parseScenario } from '../src/workload/parse.js';
import { runScenario } from '../src/workload/run.js';

const dirs = ['test/scenarios', 'examples'];

for (const dir of dirs) {
  describe(dir, () => {
    for (const f of readdirSync(dir)
      .filter((n) => /\.(ya?ml|json)$/.test(n))
      .sort()) {
      it(f, () => {
        const file = join(dir, f);
        const parsed = parseScenario(readFileSync(file, 'utf8'), file);
        if (!parsed.ok) throw new Error(parsed.errors.map(formatScenarioError).join('\n'));
        const report = runScenario(parsed.scenario, { check: true });
        const failures = report.events
          .filter((e) => e.failure)
          .map((e) => `${e.loc.file}:${e.loc.line}: ${e.message}`);
        expect(failures).toEqual([]);
        expect(report.stepsRun).toBe(parsed.scenario.steps.length);
      });
    }
  });
}
