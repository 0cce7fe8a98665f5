// Runs an ONNX file from `lockstep export --format onnx --softmax` in onnxruntime-node on the rows
// `lockstep predict` was given, and compares its probabilities with predict's JSON: the largest
// absolute difference and how many rows pick another class. Run after pnpm install:
//
//     lockstep predict --checkpoint runs/a/checkpoint.lockstep --input IMAGES > predictions.json
//     node tools/parity/onnx-vs-predict.mjs model.onnx predictions.json IMAGES
//
// IMAGES is the IDX images file or the CSV of rows that predict read.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { readInputs } from '../../packages/cli/dist/modules/data/inputs.js';

const [onnxPath, predictionsPath, inputPath] = process.argv.slice(2);
if (inputPath === undefined) {
  console.error('usage: node tools/parity/onnx-vs-predict.mjs MODEL.onnx PREDICTIONS.json IMAGES|ROWS.csv');
  process.exit(1);
}
const predictions = JSON.parse(readFileSync(predictionsPath, 'utf8'));
const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1 });
const [dims] = session.inputMetadata.map((input) => input.shape);
const sampleShape = dims.slice(1);
const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
const inputs = readInputs(inputPath, sampleSize).rows;
const rows = inputs.length / sampleSize;
if (rows !== predictions.length) {
  console.error(`${predictionsPath} has ${predictions.length} rows, ${inputPath} has ${rows}; give the file predict read`);
  process.exit(1);
}
const output = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', inputs, [rows, ...sampleShape]) });
const probabilities = output[session.outputNames[0]].data;
const classes = probabilities.length / rows;
const argmax = (values) => values.indexOf(Math.max(...values));
let worst = 0;
let disagreements = 0;
for (let row = 0; row < rows; row++) {
  const onnx = Array.from(probabilities.subarray(row * classes, (row + 1) * classes));
  const lockstep = predictions[row].probabilities;
  for (let c = 0; c < classes; c++) worst = Math.max(worst, Math.abs(onnx[c] - lockstep[c]));
  if (argmax(onnx) !== argmax(lockstep)) disagreements++;
}
console.log(`${onnxPath} in onnxruntime-node ${ort.env.versions.common} against lockstep predict on ${rows} rows: max abs probability difference ${worst.toExponential(3)}; ${disagreements} rows pick another class`);
