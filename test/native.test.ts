// Validation against the real kernel: each validation/NAME.c does natively what
// validation/NAME.yaml does in vmlab, and prints, at each of the scenario's `expect` steps, the
// counters that step names as this machine's Linux reports them (validation/native.h). The
// scenario's expected values are vmlab's (test/scenarios.test.ts runs the same files); here they
// must also be the kernel's. Needs a C compiler (`.ci/run` installs gcc).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, parseScenario } from '../src/workload/parse.js';
import type { ExpectValue, Step } from '../src/workload/scenario.js';

const DIR = 'validation';
const out = mkdtempSync(join(tmpdir(), 'vmlab-native-'));

/** CHECK lines: check number -> counter -> value. */
function parseChecks(text: string): Map<number, Map<string, number>> {
  const checks = new Map<number, Map<string, number>>();
  for (const line of text.split('\n')) {
    const m = /^CHECK (\d+)((?: \w+=-?\d+)*)$/.exec(line);
    if (m === null) {
      if (line !== '') throw new Error(`unexpected output line: ${line}`);
      continue;
    }
    const values = new Map<string, number>();
    for (const kv of m[2]
      .trim()
      .split(' ')
      .filter((s) => s !== '')) {
      const [k, v] = kv.split('=');
      values.set(k, Number(v));
    }
    checks.set(Number(m[1]), values);
  }
  return checks;
}

function holds(v: number, e: ExpectValue): boolean {
  return typeof e === 'number'
    ? v === e
    : (e.min === undefined || v >= e.min) && (e.max === undefined || v <= e.max);
}

describe("validation against this machine's Linux", () => {
  const cases = readdirSync(DIR)
    .filter((f) => f.endsWith('.c'))
    .map((f) => f.slice(0, -2))
    .sort();

  it('has cases, each with its scenario', () => {
    expect(cases.length).toBeGreaterThan(0);
    const yamls = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
    expect(yamls.map((f) => f.slice(0, -5)).sort()).toEqual(cases);
  });

  for (const name of cases) {
    it(name, () => {
      const file = join(DIR, `${name}.yaml`);
      const parsed = parseScenario(readFileSync(file, 'utf8'), file);
      if (!parsed.ok) throw new Error(parsed.errors.map(formatScenarioError).join('\n'));
      const expects = parsed.scenario.steps.filter(
        (s): s is Extract<Step, { kind: 'expect' }> => s.kind === 'expect',
      );
      const exe = join(out, name);
      execFileSync('gcc', ['-O1', '-Wall', '-Werror', '-o', exe, join(DIR, `${name}.c`)], { stdio: 'pipe' });
      const checks = parseChecks(execFileSync(exe, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
      expect([...checks.keys()].sort((a, b) => a - b)).toEqual(expects.map((_, i) => i));
      const mismatches: string[] = [];
      expects.forEach((step, i) => {
        const native = checks.get(i)!;
        expect([...native.keys()].sort(), `check ${i} (line ${step.loc.line})`).toEqual(
          Object.keys(step.values).sort(),
        );
        for (const [counter, want] of Object.entries(step.values)) {
          const got = native.get(counter)!;
          if (!holds(got, want))
            mismatches.push(
              `${file}:${step.loc.line}: ${counter}: Linux ${got}, scenario ${JSON.stringify(want)}`,
            );
        }
      });
      expect(mismatches).toEqual([]);
    });
  }
});
