import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { checkConfig, parseConfigText } from '../src/config/config-file.js';
import { modelSpecOf } from '../src/config/model-spec.js';
import { DEFAULT_CONFIG, SETTING_KEYS } from '../src/config/settings.js';
import { buildModel } from '../src/run/trainer.js';
import { anyValue, damagedText, INHERITED_NAMES, oneLineOr, ownRecord } from './fuzz-helpers.js';

// A config file, however broken, gives a model or one line: never another error, and never a model
// too large to allocate. Fixed seeds keep CI reproducible.
const RUNS = { seed: 11, numRuns: 1000 };
const KEYS = SETTING_KEYS;
const examples = ['cnn.json', 'reference-mlp.json'].map((name) => readFileSync(new URL(`../../../examples/configs/${name}`, import.meta.url), 'utf8'));

/** Reads the text as lockstep train does, up to building the model for 28x28 images of 10 classes. */
function checkConfigText(text: string): void {
  const partial = oneLineOr(() => parseConfigText(text, 'fuzz.json').settings);
  if (partial === null) return;
  const config = oneLineOr(() => checkConfig({ ...DEFAULT_CONFIG, ...partial }, 'fuzz.json'));
  if (config === null) return;
  oneLineOr(() => buildModel(modelSpecOf(config, [1, 28, 28], 10)));
}

const layerEntry = fc
  .array(fc.tuple(fc.constantFrom('type', 'out', 'p', 'kernelSize', ...INHERITED_NAMES), fc.oneof(anyValue, fc.constantFrom('linear', 'conv2d', 'dropout', 'flatten'))), { maxLength: 4 })
  .map(ownRecord);
const configObject = fc
  .array(fc.tuple(fc.constantFrom(...KEYS, ...INHERITED_NAMES, 'epochz'), fc.oneof(anyValue, fc.array(layerEntry, { maxLength: 4 }))), { maxLength: 6 })
  .map(ownRecord);

describe('config files under fuzzing', () => {
  it('keys of the schema (and inherited names) with values of every type', () => {
    fc.assert(fc.property(configObject, (config) => checkConfigText(JSON.stringify(config))), { ...RUNS, numRuns: 600 });
  });

  it('the example configs cut short, bit-flipped or spliced with junk', () => {
    for (const example of examples) fc.assert(fc.property(damagedText(example), checkConfigText), RUNS);
  });

  it('any JSON text', () => {
    fc.assert(fc.property(fc.json(), checkConfigText), RUNS);
  });
});
