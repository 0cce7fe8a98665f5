import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(script: string): string {
  return execFileSync(process.execPath, [new URL(`../examples/dist/${script}`, import.meta.url).pathname], { encoding: 'utf8' });
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
