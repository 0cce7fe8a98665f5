import { describe, expect, it } from 'vitest';
import { appendRegion, kernelMemory, LockstepError } from '@lockstep/core';

const advice = 'use a larger chunkSize (fewer gradient slots) or a smaller model';

describe('kernel memory overflow', () => {
  it('names the region of a kernelMemory larger than the 4 GiB a WebAssembly memory holds', () => {
    const tooLarge = (): WebAssembly.Memory => kernelMemory(5 * 2 ** 30, 'the parameters, optimizer state and chunk gradients');
    expect(tooLarge).toThrow(LockstepError);
    expect(tooLarge).toThrow(
      `no room for the parameters, optimizer state and chunk gradients: the WebAssembly memory would need 5.0 GiB, more than it can hold (4 GiB at most); ${advice}`,
    );
  });

  it("names the region of an appendRegion past the memory's maximum", () => {
    const memory = kernelMemory(2 ** 16, 'the parameters and optimizer state', 2 ** 30);
    const pastMaximum = (): number => appendRegion(memory, 2 ** 30, 'a matrix kernel scratch');
    expect(pastMaximum).toThrow(LockstepError);
    expect(pastMaximum).toThrow(`no room for a matrix kernel scratch: the WebAssembly memory would need 1.0 GiB, more than it can hold (4 GiB at most); ${advice}`);
  });
});
