// Writes lockstep's eval-mode logits for a safetensors file that lockstep exported, on keyed random
// inputs or on the first rows of an IDX images file or CSV (what the model was trained on, so the
// logits have their usual size), for generate_safetensors.py --check to compare with PyTorch's. Run
// after pnpm build:
//
//     node tools/parity/lockstep-logits.mjs model.safetensors logits.json [rows] [IMAGES|ROWS.csv]
import { readFileSync, writeFileSync } from 'node:fs';
import { fillNormal, modelFromSafetensors, rootKey } from '../../packages/core/dist/index.js';
import { readInputs } from '../../packages/cli/dist/modules/data/inputs.js';

const [path, out, rowsText = '64', inputPath] = process.argv.slice(2);
if (path === undefined || out === undefined) {
  console.error('usage: node tools/parity/lockstep-logits.mjs FILE.safetensors LOGITS.json [rows] [IMAGES|ROWS.csv]');
  process.exit(1);
}
const model = modelFromSafetensors(new Uint8Array(readFileSync(path)), path).eval();
const rows = Number(rowsText);
const sampleSize = model.inputShape.reduce((a, b) => a * b, 1);
const input = inputPath === undefined ? new Float32Array(rows * sampleSize) : readInputs(inputPath, sampleSize).rows.slice(0, rows * sampleSize);
if (inputPath === undefined) fillNormal(rootKey(22), input, 0, 1);
if (input.length !== rows * sampleSize) {
  console.error(`${inputPath} has fewer than ${rows} rows`);
  process.exit(1);
}
const logits = model.forward(input).data.slice();
const tensor = (data, shape) => ({ shape, data: Array.from(data) });
writeFileSync(out, JSON.stringify({ input: tensor(input, [rows, ...model.inputShape]), logits: tensor(logits, [rows, ...model.outputShape]) }));
console.log(`wrote ${out}: ${rows} rows of ${model.outputShape} logits from ${path}, on ${inputPath ?? 'keyed normal inputs'}`);
