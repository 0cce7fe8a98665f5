/**
 * The samples `lockstep data --count` draws: by default, and at most. Apart from commands/data.ts so
 * that --help, which states them, loads none of its code.
 */
export const DEFAULT_SHEET_SAMPLES = 16;
export const MAX_SHEET_SAMPLES = 256;
