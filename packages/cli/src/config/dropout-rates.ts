import { UserError } from '../errors.js';
import { DEFAULT_RATES, MAX_RATES } from './compare-limits.js';
import { SETTINGS } from './settings.js';

/** The rates of `--dropout 0,0.2,0.5`, in the order given: 1 to 8 distinct rates, each checked as the dropout setting is. */
export function dropoutRatesFlag(value: string): number[] {
  if (value.trim() === '') throw new UserError(`--dropout needs 1 to ${MAX_RATES} rates separated by commas, e.g. ${DEFAULT_RATES}; got ""`);
  const items = value.split(',').map((item) => item.trim());
  if (items.length > MAX_RATES) throw new UserError(`--dropout takes at most ${MAX_RATES} rates, got ${items.length} in "${value}"`);
  const { rule } = SETTINGS.dropout;
  const rates = items.map((item) => rule.check(rule.fromText(item), '--dropout', JSON.stringify(item)));
  const repeated = rates.find((rate, i) => rates.indexOf(rate) !== i);
  if (repeated !== undefined) throw new UserError(`--dropout lists the rate ${repeated} more than once; give each rate once`);
  return rates;
}
