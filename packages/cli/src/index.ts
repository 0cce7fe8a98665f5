export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, type Checkpoint } from './run/checkpoint.js';
export { fingerprint } from '@lockstep/core';
export { checkConfig } from './config/config-file.js';
export { SETTINGS, DEFAULT_CONFIG, type RunConfig } from './config/settings.js';
