import { describe, expect, it } from 'vitest';
import { KERNEL_FAMILIES, sgd } from '@lockstep/core';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/run/checkpoint.js';
import { parseConfigText } from '../src/config/config-file.js';
import { modelSpecOf } from '../src/config/model-spec.js';
import { DEFAULT_CONFIG } from '../src/config/settings.js';
import { parseCsvDataset } from '../src/data/csv.js';
import { UserError } from '../src/errors.js';

function expectUserError(action: () => unknown, message: string): void {
  expect(action).toThrow(UserError);
  expect(action).toThrow(message);
  try {
    action();
  } catch (error) {
    expect((error as Error).message).toBe(message);
  }
}

// The bugs the fuzz tests found, each pinned with its exact one-line message.
describe('one line for inputs the fuzz tests broke', () => {
  it('a config file whose JSON error quotes text across lines', () => {
    expectUserError(() => parseConfigText('z\n  "data": 1', 'c.json'), 'c.json is not valid JSON: Unexpected token \'z\', "z "data": 1" is not valid JSON');
  });

  it('a config file saved with a UTF-8 byte order mark is read; an error after it keeps its position', () => {
    expect(parseConfigText('\uFEFF{"epochs": 1}', 'bom.json').settings).toEqual({ epochs: 1 });
    expectUserError(() => parseConfigText('\uFEFF{"epochs": 1', 'bom.json'), "bom.json is not valid JSON: Expected ',' or '}' after property value in JSON at position 13");
  });

  it('a CSV label past 65535 (it wrapped around in an Int32Array before), and a quoted field with a newline', () => {
    expectUserError(() => parseCsvDataset('a,label\n1,4294967297\n', 'big.csv'), 'big.csv: line 2: label "4294967297" must be an integer from 0 to 65535');
    const largest = parseCsvDataset('a,label\n1,65535\n2,0\n', 'max.csv').data.targets;
    expect(largest.kind === 'classes' && Array.from(largest.labels)).toEqual([65535, 0]);
    expectUserError(() => parseCsvDataset('a,b\n1,"x\ny"\n', 'q.csv'), 'q.csv: line 2, column 2: "x\\ny" is not a number');
  });

  it('a checkpoint whose optimizer core would refuse', () => {
    const config = { ...DEFAULT_CONFIG, hidden: [2] };
    const valid: Checkpoint = {
      config,
      spec: modelSpecOf(config, [3], 2),
      optimizer: sgd({ lr: 0.1 }),
      kernel: KERNEL_FAMILIES.strict,
      params: new Float32Array(14),
      optimizerState: new Float32Array(0),
      state: { step: 0, epoch: 0, batch: 0, epochLossSum: 0, epochCorrect: 0 },
    };
    const withOptimizer = (optimizer: object): Buffer => encodeCheckpoint({ ...valid, optimizer: optimizer as Checkpoint['optimizer'] });
    expect(decodeCheckpoint(withOptimizer(valid.optimizer), 'ok.lockstep').optimizer).toEqual(valid.optimizer);
    expectUserError(
      () => decodeCheckpoint(withOptimizer({ ...valid.optimizer, schedule: { kind: 'step' } }), 'a.lockstep'),
      `a.lockstep does not hold a valid checkpoint: "optimizer" schedule stepSize is required for a step schedule, as PyTorch's step_size is; give the steps between decays, or epochs with interval: 'epoch'`,
    );
    expectUserError(() => decodeCheckpoint(withOptimizer({ ...valid.optimizer, nesterov: 'yes' }), 'b.lockstep'), 'b.lockstep does not hold a valid checkpoint: "optimizer.nesterov" Invalid input: expected boolean, received string');
    expectUserError(() => decodeCheckpoint(withOptimizer({ kind: 'rmsprop' }), 'c.lockstep'), 'c.lockstep does not hold a valid checkpoint: "optimizer.kind" Invalid discriminator value. Expected \'sgd\' | \'adam\' | \'adamw\'');
  });
});
