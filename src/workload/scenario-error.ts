// What is wrong with a scenario file, and where. Bad input is reported, never thrown
// (DESIGN.md principle 4).

export interface ScenarioError {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
  /** Dotted path to the value, e.g. `steps[3].mmap.size`; '' for the file as a whole (YAML syntax). */
  readonly field: string;
  readonly message: string;
  /** What would have been accepted, e.g. `one of none, r, w, x, rw, rx, wx, rwx`. */
  readonly expected?: string;
}

/** `file:line:column: field: message (expected ...)`, as compilers print it. */
export function formatScenarioError(e: ScenarioError): string {
  const field = e.field === '' ? '' : `${e.field}: `;
  const expected = e.expected === undefined ? '' : ` (expected ${e.expected})`;
  return `${e.file}:${e.line}:${e.column}: ${field}${e.message}${expected}`;
}

/** Order errors by position in the file; stable, so errors at one place keep their order. */
export function sortScenarioErrors(errors: readonly ScenarioError[]): ScenarioError[] {
  return [...errors].sort((a, b) => a.line - b.line || a.column - b.column);
}
