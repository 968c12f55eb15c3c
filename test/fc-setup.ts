// fast-check's seed for every property of the suite: fixed, so that `npm test` (and CI) gives
// the same result on every run; VMLAB_FC_SEED=N replays another seed, VMLAB_FC_SEED=random
// draws a new one each run (what to do when hunting for bugs, with VMLAB_FC_RUNS for length).

import fc from 'fast-check';

const env = process.env.VMLAB_FC_SEED;
if (env !== 'random') fc.configureGlobal({ seed: env !== undefined ? Number(env) : 20261130 });
