import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/config-file.js';
import { flagConfig, flagValue } from '../src/config/flags.js';
import { OPTIONS } from '../src/config/options.js';
import { UserError } from '../src/errors.js';

// Flags read numbers as CSV data does: decimal only, so 0x10 is never taken for 16 unseen.
describe('numbers on the command line', () => {
  it.each([
    [{ lr: '1e-3' }, { lr: 0.001 }],
    [{ lr: '.5' }, { lr: 0.5 }],
    [{ lr: '5.' }, { lr: 5 }],
    [{ seed: '+7' }, { seed: 7 }],
    [{ hidden: '256, 128' }, { hidden: [256, 128] }],
    [{ augment: 'translate= 0.1, flip' }, { augment: { translate: 0.1, flip: true } }],
    [{ schedule: 'kind=step,step_size=2,gamma=5e-1' }, { schedule: { kind: 'step', step_size: 2, gamma: 0.5 } }],
  ])('takes the decimal %j', (flags, expected) => {
    expect(flagConfig(flags)).toMatchObject(expected);
  });

  it.each([
    [{ seed: '0x10' }, '--seed must be an integer >= 0, got "0x10"; write it as 16'],
    [{ seed: '0b1' }, '--seed must be an integer >= 0, got "0b1"; write it as 1'],
    [{ seed: '0o7' }, '--seed must be an integer >= 0, got "0o7"; write it as 7'],
    [{ seed: ' 1 ' }, '--seed must be an integer >= 0, got " 1 "; write it as 1'],
    [{ seed: '1_000' }, '--seed must be an integer >= 0, got "1_000"'],
    [{ lr: '0x1' }, '--lr must be a number from 0 to 10, got "0x1"; write it as 1'],
    [{ lr: 'Infinity' }, '--lr must be a number from 0 to 10, got "Infinity"'],
    [{ dropout: '0x0' }, '--dropout must be a number, got "0x0"; write it as 0'],
    [{ hidden: '0x10,16' }, '--hidden must be a list of integers >= 1, e.g. 1024,1024, got "0x10,16"'],
    [{ augment: 'translate=0x1' }, '--augment translate must be a number from 0 to 0.5, got "0x1"; write it as 1'],
    [{ augment: 'cropPadding=0x2' }, '--augment cropPadding must be a whole number of pixels >= 0, got "0x2"; write it as 2'],
    [{ augment: 'flip=0x1' }, '--augment flip must be true or false, got "0x1"'],
    [{ schedule: 'kind=step,step_size=0x2' }, '--schedule step_size must be an integer >= 1, got "0x2"; write it as 2'],
    [{ schedule: 'kind=step,step_size=0x10' }, '--schedule step_size must be an integer >= 1, got "0x10"; write it as 16'],
    [{ schedule: 'kind=step,step_size=2,interval=0x1' }, "--schedule interval must be one of 'step', 'epoch', got \"0x1\""],
    [{ earlyStopping: 'patience=0x3' }, '--early-stopping patience must be an integer >= 0, got "0x3"; write it as 3'],
    [{ earlyStopping: 'patience=Infinity' }, '--early-stopping patience must be an integer >= 0, got "Infinity"'],
  ])('refuses %j with one line', (flags, message) => {
    expect(() => flagConfig(flags)).toThrow(new UserError(message));
  });

  it('reads a negative decimal as a number, which a range then refuses (-0.1, not "-0.1")', () => {
    expect(() => flagConfig({ schedule: 'kind=plateau,threshold=-0.1' })).toThrow(new UserError('--schedule threshold must be a finite number >= 0, got -0.1'));
  });

  it('a config file\'s keyed setting gets the hint too, as its other numbers do', () => {
    expect(() => parseConfigText('{"schedule": {"kind": "step", "step_size": "16"}}', 'c.json')).toThrow(new UserError('c.json: "schedule.step_size" must be an integer >= 1, got "16"; write it as 16'));
  });

  it('an option flag too', () => {
    expect(() => flagValue('--workers', OPTIONS.workers, '0x2')).toThrow(new UserError('--workers must be an integer from 1 to 1024, got "0x2"; write it as 2'));
  });
});

describe('the bound of an integer setting', () => {
  it('is said to a value past 2^53 - 1, where ">= 0" would not say what is wrong', () => {
    expect(() => flagConfig({ seed: '1e30' })).toThrow(new UserError('--seed must be an integer from 0 to 2^53 - 1 (9007199254740991), got "1e30"'));
    expect(() => flagConfig({ epochs: '9007199254740992' })).toThrow(new UserError('--epochs must be an integer from 1 to 2^53 - 1 (9007199254740991), got "9007199254740992"'));
    expect(flagConfig({ seed: '9007199254740991' })).toEqual({ seed: 9007199254740991 });
  });

  it('below it, the message stays the short one', () => {
    expect(() => flagConfig({ seed: '-1' })).toThrow(new UserError('--seed must be an integer >= 0, got "-1"'));
  });
});
