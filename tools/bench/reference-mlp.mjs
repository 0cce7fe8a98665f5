// The reference MLP of the benches: 784-512-512-10, ReLU, dropout 0.5 (the model spec's layers).
export const REFERENCE_MLP_LAYERS = mlpLayers(512);

/** The study note's 128-64-10 MLP on Fashion-MNIST's 784 inputs: 784-128-64-10, the same layers otherwise. */
export const SMALL_MLP_LAYERS = mlpLayers(128, 64);

/** The reference MLP with hidden widths `width` and `second`: 784-width-second-10, ReLU, dropout 0.5. */
export function mlpLayers(width, second = width) {
  return [
    { type: 'flatten' },
    { type: 'linear', out: width },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: second },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 10 },
  ];
}
