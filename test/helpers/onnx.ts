import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { type Model } from '@lockstep/core';

/** Runs an ONNX file in onnxruntime-node (CPU) on a float32 batch; returns its one output. */
export async function runOnnx(file: Uint8Array, input: Float32Array, shape: readonly number[]): Promise<{ name: string; data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [...shape]) });
    const name = session.outputNames[0];
    const output = results[name];
    return { name, data: output.data as Float32Array, dims: output.dims };
  } finally {
    await session.release();
  }
}

/** The model's eval-mode output for `input`, copied out of the layer's scratch buffer; the model's mode is restored. */
export function evalOutput(model: Model, input: Float32Array): Float32Array {
  const wasTraining = model.training;
  model.eval();
  const output = Float32Array.from(model.forward(input).data);
  model.train(wasTraining);
  return output;
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function argmax(values: ArrayLike<number>, from: number, width: number): number {
  let best = from;
  for (let i = from + 1; i < from + width; i++) if (values[i] > values[best]) best = i;
  return best - from;
}

/** How many rows of two [rows, width] outputs pick different classes. */
export function argmaxDisagreements(a: ArrayLike<number>, b: ArrayLike<number>, width: number): number {
  let count = 0;
  for (let at = 0; at < a.length; at += width) if (argmax(a, at, width) !== argmax(b, at, width)) count++;
  return count;
}

/** Whether Debian's python3-onnx is importable by /usr/bin/python3 (the checker test needs it). */
export function pythonOnnxAvailable(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
