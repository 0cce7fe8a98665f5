export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, type Checkpoint } from './run/checkpoint.js';
export { fingerprint } from './output/fingerprint.js';
export { runConfigSchema, DEFAULT_CONFIG, type RunConfig } from './config/run-config.js';
