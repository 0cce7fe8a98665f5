// The reference MLP of the benches: 784-512-512-10, ReLU, dropout 0.5 (the model spec's layers).
export const REFERENCE_MLP_LAYERS = mlpLayers(512);

/** The reference MLP with hidden width `width`: 784-width-width-10, ReLU, dropout 0.5. */
export function mlpLayers(width) {
  return [
    { type: 'flatten' },
    { type: 'linear', out: width },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: width },
    { type: 'relu' },
    { type: 'dropout', p: 0.5 },
    { type: 'linear', out: 10 },
  ];
}
