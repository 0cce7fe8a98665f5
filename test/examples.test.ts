import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fashionMnistInstalled } from '../examples/src/fashion-mnist-data.js';

function run(script: string, env: Record<string, string> = {}, args: string[] = []): string {
  const path = fileURLToPath(new URL(`../examples/dist/${script}`, import.meta.url));
  return execFileSync(process.execPath, [path, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

function numbersAfter(output: string, label: string): number[] {
  const line = output.split('\n').find((l) => l.startsWith(label));
  if (line === undefined) throw new Error(`no line starting with "${label}" in:\n${output}`);
  return line.slice(label.length).trim().split(/\s+/).map(Number);
}

describe('the source note examples', () => {
  it('10-5-1 in train mode gives varying outputs and in eval mode one output, the same every run', () => {
    const output = run('note-eval.js');
    const train = numbersAfter(output, 'train mode outputs:');
    const evaluated = numbersAfter(output, 'eval mode outputs:');
    expect(new Set(train).size).toBeGreaterThan(1);
    expect(new Set(evaluated).size).toBe(1);
    expect(run('note-eval.js')).toBe(output);
  });

  it('128-64-10 with Dropout(0.5) trains on the synthetic task: loss falls, validation accuracy > 0.8', () => {
    const output = run('note-train.js');
    const losses = output.split('\n').filter((l) => l.startsWith('epoch')).map((l) => Number(l.split(' ')[3]));
    expect(losses).toHaveLength(5);
    expect(losses[4]).toBeLessThan(losses[0] * 0.6);
    expect(numbersAfter(output, 'validation accuracy')[0]).toBeGreaterThan(0.8);
  });
});

describe('training on every core', () => {
  it('the parallel example reaches validation accuracy > 0.85 on the built-in data set', () => {
    const output = run('parallel-train.js');
    expect(output.split('\n').filter((l) => l.startsWith('epoch'))).toHaveLength(5);
    expect(Number(output.match(/validation accuracy (\S+)/)?.[1])).toBeGreaterThan(0.85);
  });

  it('the main job (pnpm train) prints the same fingerprint with 1 and 3 workers', () => {
    const fingerprint = (workers: string): string => run('train-default.js', { LOCKSTEP_WORKERS: workers }).match(/fingerprint (\w+)/)?.[1] ?? 'none';
    const one = fingerprint('1');
    expect(one).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint('3')).toBe(one);
  });
});

describe.skipIf(!fashionMnistInstalled())('Monte Carlo dropout on classes the model never saw (Fashion-MNIST)', () => {
  function uncertaintyOf(output: string, group: string): { entropy: number; information: number } {
    const match = output.match(new RegExp(`^${group} \\(\\d+ test images\\): entropy (\\S+) MI (\\S+)$`, 'm'));
    if (match === null) throw new Error(`no line for ${group} in:\n${output}`);
    return { entropy: Number(match[1]), information: Number(match[2]) };
  }

  it('1 epoch on classes 0-7, 10 passes over 2,000 test images: unseen 8-9 are less certain; the surest half is more accurate', () => {
    const output = run('unseen-classes.js', {}, ['1', '10', '2000']);
    const seen = uncertaintyOf(output, 'seen classes 0-7');
    const unseen = uncertaintyOf(output, 'unseen classes 8-9');
    expect(unseen.entropy - seen.entropy).toBeGreaterThan(0.1);
    expect(unseen.information).toBeGreaterThan(seen.information);
    const [full, ninety, half] = numbersAfter(output, 'seen classes, accuracy at coverage 100% 90% 50%:');
    expect(full).toBeGreaterThan(0.7);
    expect(ninety).toBeGreaterThan(full);
    expect(half).toBeGreaterThan(full + 0.05);
  });
});
