import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shownLr } from '../packages/cli/src/output/report.js';
import { lockstep } from './helpers/lockstep.js';

// The plain epoch lines show the learning rate when a schedule sets it, and a line says when
// reduce-on-plateau lowers it. "mode": "max" on val_loss, which falls, makes every epoch after the
// first one that did not improve, so with patience 0 the rate halves after each.
const work = mkdtempSync(join(tmpdir(), 'lockstep-epoch-lines-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const plateau = { kind: 'plateau', mode: 'max', patience: 0, factor: 0.5 };
writeFileSync(join(work, 'plain.json'), JSON.stringify({ hidden: [16], epochs: 1 }));
writeFileSync(join(work, 'plateau.json'), JSON.stringify({ hidden: [16], epochs: 3, schedule: plateau }));
writeFileSync(join(work, 'compare.json'), JSON.stringify({ hidden: [16], epochs: 2, schedule: plateau }));

/** The lines printed, with the speed and seconds, which depend on the clock, as "-". */
const untimed = (stdout: string): string[] => stdout.trim().split('\n').map((line) => line.replace(/\| \d+ samples\/s \| \d+\.\d s$/, '| - samples/s | - s'));

describe('the learning rate in the epoch lines', () => {
  it('has 4 significant digits, so a small rate or one a cosine moves stays readable', () => {
    expect([0.05, 0.04951963201008076, 0.00001, 1e-7, 0.3333333].map(shownLr)).toEqual(['0.05', '0.04952', '0.00001', '1e-7', '0.3333']);
  });

  it('without a schedule the lines are as before: no lr', () => {
    const { status, stdout } = lockstep(['train', '--config', 'plain.json', '--workers', '2', '--out', 'plain'], work);
    expect(status).toBe(0);
    expect(untimed(stdout)[1]).toBe('epoch 1/1 | loss 1.7814 acc 0.3631 | val_loss 1.0696 val_acc 0.7420 | - samples/s | - s');
  });

  it('train shows each epoch\'s lr with a schedule, and a line after each epoch that reduce-on-plateau lowers it', () => {
    const { status, stdout, stderr } = lockstep(['train', '--config', 'plateau.json', '--workers', '2', '--out', 'plateau'], work);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(untimed(stdout).slice(1, -1)).toEqual([
      'epoch 1/3 | loss 1.7814 acc 0.3631 | val_loss 1.0696 val_acc 0.7420 | lr 0.05 | - samples/s | - s',
      'epoch 2/3 | loss 1.4120 acc 0.5022 | val_loss 0.8607 val_acc 0.8240 | lr 0.05 | - samples/s | - s',
      'epoch 2/3: val_loss did not improve for 1 epoch, so the plateau schedule lowers lr from 0.05 to 0.025',
      'epoch 3/3 | loss 1.2896 acc 0.5556 | val_loss 0.7435 val_acc 0.8580 | lr 0.025 | - samples/s | - s',
      'epoch 3/3: val_loss did not improve for 1 epoch, so the plateau schedule lowers lr from 0.025 to 0.0125',
    ]);
  });

  it('--json gives the lowered rate as an info event', () => {
    const { status, stdout } = lockstep(['train', '--config', 'plateau.json', '--workers', '2', '--out', 'json', '--json'], work);
    expect(status).toBe(0);
    const notes = stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((event) => event.event === 'info' && event.previousLr !== undefined);
    expect(notes).toEqual([
      { event: 'info', message: 'epoch 2/3: val_loss did not improve for 1 epoch, so the plateau schedule lowers lr from 0.05 to 0.025', epoch: 2, lr: 0.025, previousLr: 0.05 },
      { event: 'info', message: 'epoch 3/3: val_loss did not improve for 1 epoch, so the plateau schedule lowers lr from 0.025 to 0.0125', epoch: 3, lr: 0.0125, previousLr: 0.025 },
    ]);
  });

  it('compare shows it in its epoch lines too, named by the rate', () => {
    const { status, stdout } = lockstep(['compare', '--config', 'compare.json', '--dropout', '0', '--workers', '2', '--out', 'compared'], work);
    expect(status).toBe(0);
    expect(untimed(stdout).slice(1, 4)).toEqual([
      'dropout 0 | epoch 1/2 | train_loss 0.6753 train_acc 0.8333 | val_loss 0.6953 val_acc 0.8280 | gap +0.0053 | lr 0.05 | - samples/s | - s',
      'dropout 0 | epoch 2/2 | train_loss 0.5353 train_acc 0.8764 | val_loss 0.5831 val_acc 0.8680 | gap +0.0084 | lr 0.05 | - samples/s | - s',
      'dropout 0 | epoch 2/2: val_loss did not improve for 1 epoch, so the plateau schedule lowers lr from 0.05 to 0.025',
    ]);
  });
});
