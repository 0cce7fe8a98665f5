import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/parity/${name}`, import.meta.url), 'utf8')) as T;
}

export function f32(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data);
}

/** torch.allclose's rule with its defaults: |actual - expected| <= 1e-8 + 1e-5 * |expected| for every element. */
export function expectRelativelyClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5, atol = 1e-8): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    if (excess > worst) {
      worst = excess;
      worstAt = i;
    }
  }
  expect(worst, `${what}: worst error at element ${worstAt}, as a multiple of the allowed error`).toBeLessThanOrEqual(1);
}
