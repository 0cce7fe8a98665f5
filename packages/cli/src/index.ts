export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, KERNEL_FAMILY, type Checkpoint } from './checkpoint.js';
export { fingerprint } from './fingerprint.js';
export { runConfigSchema, DEFAULT_CONFIG, type RunConfig } from './config.js';
