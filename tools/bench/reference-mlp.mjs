// The reference MLP of the benches: 784-512-512-10, ReLU, dropout 0.5 (the model spec's layers).
export const REFERENCE_MLP_LAYERS = [
  { type: 'flatten' },
  { type: 'linear', out: 512 },
  { type: 'relu' },
  { type: 'dropout', p: 0.5 },
  { type: 'linear', out: 512 },
  { type: 'relu' },
  { type: 'dropout', p: 0.5 },
  { type: 'linear', out: 10 },
];
