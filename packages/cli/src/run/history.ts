import { existsSync, readFileSync } from 'node:fs';
import type { EpochMetrics } from '@lockstep/core';

/** The epochs up to `upToEpoch` of a run folder's metrics.jsonl; lines a crash cut short are skipped. */
export function readHistory(path: string, upToEpoch: number): EpochMetrics[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        const metrics = JSON.parse(line) as EpochMetrics;
        return typeof metrics.epoch === 'number' && metrics.epoch <= upToEpoch ? [metrics] : [];
      } catch {
        return [];
      }
    });
}
