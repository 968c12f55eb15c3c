// The designs a scenario may name. Each has a preset in designs/.
export const DESIGN_NAMES = ['linux', 'hmm', 'gmem'] as const;
export type DesignName = (typeof DESIGN_NAMES)[number];
