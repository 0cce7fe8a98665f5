import { describe, expect, it } from 'vitest';
import { kernelMemory, LockstepError, sgd, useKernelMemory } from '@lockstep/core';
import { Trainer } from '@lockstep/workers';
import { kernelFloats } from '../packages/core/src/wasm/kernel-memory.js';

// A test run loads one copy of each package (vitest.config.ts): with two copies of core there would be
// two LockstepError classes and two kernel states, and these would fail.
describe('one copy of core in a test run', () => {
  it('an error thrown by @lockstep/workers is an instance of the LockstepError @lockstep/core exports', () => {
    const model = { input: [4], layers: [{ type: 'linear', out: 2 }] };
    expect(() => new Trainer({ model, seed: 1, optimizer: sgd({ lr: 0.1 }), workers: 0 })).toThrow(LockstepError);
  });

  it('a core source file imported directly shares the kernel state @lockstep/core sets', () => {
    const memory = kernelMemory(1 << 16, 'a test memory', 1 << 20);
    try {
      useKernelMemory(memory);
      expect(kernelFloats(16).buffer).toBe(memory.buffer);
    } finally {
      useKernelMemory(null);
    }
  });
});
