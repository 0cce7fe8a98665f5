/**
 * The most rates `compare --dropout` takes, and the rates compare runs without it. These numbers of
 * compare live apart from the code that applies them (dropout-rates.ts, config-list.ts,
 * commands/compare.ts) because --help states them, and the help loads none of that code.
 */
export const MAX_RATES = 8;
export const DEFAULT_RATES = '0,0.2,0.5';

/** The most config files `compare --configs` takes. */
export const MAX_CONFIGS = 8;

/** Training samples compare measures in eval mode after every epoch, at most. */
export const PROBE_SAMPLES = 10_000;
