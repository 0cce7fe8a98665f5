export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, type Checkpoint } from './checkpoint.js';
export { fingerprint } from './fingerprint.js';
export { runConfigSchema, DEFAULT_CONFIG, type RunConfig } from './config.js';
