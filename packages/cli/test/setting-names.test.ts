import { describe, expect, it } from 'vitest';
import { flagConfig } from '../src/config/flags.js';
import { settingNamer } from '../src/config/setting-names.js';
import type { RunConfig } from '../src/config/settings.js';

// Messages name a setting as the user gave it: a flag's value as typed, a config file's as JSON.
describe('settingNamer', () => {
  it.each([
    [{ imageSize: '32,32' }, 'imageSize', '--image-size 32,32'],
    [{ imageSize: '32, 32' }, 'imageSize', '--image-size "32, 32"'],
    [{ imageFit: 'crop' }, 'imageFit', '--image-fit crop'],
    [{ skipBadImages: true }, 'skipBadImages', '--skip-bad-images'],
    [{ chunkSize: '128' }, 'chunkSize', '--chunk-size 128'],
  ] as const)('the flags %j name %s as %s', (typed, key, shown) => {
    const fromFlags = flagConfig(typed);
    expect(settingNamer(fromFlags, {}, undefined, typed)(key, fromFlags[key as keyof RunConfig])).toBe(shown);
  });

  it('a config file value as JSON, with the file', () => {
    expect(settingNamer({}, { imageSize: [32, 32] }, 'c.json', {})('imageSize', [32, 32])).toBe('"imageSize": [32,32] in c.json');
  });

  it('a setting neither a flag nor the file gave as the default, not by the flag that was not given', () => {
    expect(settingNamer({}, { chunkSize: 100 }, 'c.json', {})('batchSize', 64)).toBe('the default batch size 64');
  });
});
