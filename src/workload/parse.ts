// Scenario files (YAML, or JSON, which is YAML) -> typed Scenario, or every error found, each with
// file:line:column and the dotted field. Never throws for bad input (DESIGN.md principle 4).

import { LineCounter, parseDocument } from 'yaml';
import { scenarioFormat } from './format.js';
import type { Scenario } from './scenario.js';
import { buildScenario } from './scenario-build.js';
import { type ScenarioError, sortScenarioErrors } from './scenario-error.js';
import { DecodeCtx, INVALID } from './schema-dsl.js';

export { formatScenarioError, type ScenarioError } from './scenario-error.js';

export type ParseResult = { ok: true; scenario: Scenario } | { ok: false; errors: ScenarioError[] };

/** Parse and validate scenario `text`; `file` names it in locations and messages. */
export function parseScenario(text: string, file: string): ParseResult {
  const lines = new LineCounter();
  // intAsBigInt: integers stay exact past 2^53, so that too-large sizes are refused rather than rounded.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, intAsBigInt: true });
  const ctx = new DecodeCtx(file, doc, lines);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      ctx.report({ path: '', ...ctx.position(e.pos[0]) }, `YAML syntax error: ${e.message}`);
    }
    return { ok: false, errors: sortScenarioErrors(ctx.errors) };
  }
  const root = { path: '', ...ctx.position(doc.contents?.range?.[0] ?? 0) };
  if (doc.contents === null) {
    ctx.report(root, 'the file is empty', scenarioFormat.expected);
    return { ok: false, errors: ctx.errors };
  }
  const decoded = ctx.decode(scenarioFormat, doc.contents, root);
  const scenario = decoded === INVALID ? INVALID : buildScenario(decoded, ctx);
  if (scenario === INVALID || ctx.errors.length > 0)
    return { ok: false, errors: sortScenarioErrors(ctx.errors) };
  return { ok: true, scenario };
}
