import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { formatScenarioError, parseScenario } from './parse.js';

it('x', () => {
  for (const f of (process.env.FILES ?? '').split(',')) {
    const r = parseScenario(readFileSync(f, 'utf8'), f);
    if (r.ok) console.log(JSON.stringify(r.scenario, null, 1));
    else console.log(r.errors.map(formatScenarioError).join('\n'));
  }
});
