import type { Dataset } from '@lockstep/core';
import { GIVEN_IMAGE_SETTINGS, type ChannelStats, type ImageSettings, type RecordedImageData } from '../../config/image-settings.js';
import { UserError } from '../../errors.js';
import { readImageFolder, type ImageFolder } from './folder.js';
import { channelStats, normalizeInPlace } from './normalize.js';

/** How a message names a setting and its value (config/setting-names.ts names them as the user gave them). */
export type SettingNamer = (key: keyof ImageSettings | 'data', value: unknown) => string;

const plainNames: SettingNamer = (key, value) => `"${key}": ${JSON.stringify(value)}`;

/**
 * Image settings that cannot work: given for data that is not images:DIR, imageFit without imageSize,
 * a normalization whose length is not the channel count. One line naming them as given.
 */
export function checkImageSettings(config: ImageSettings & { data: string }, named: SettingNamer = plainNames): void {
  if (!config.data.startsWith('images:')) {
    const given = GIVEN_IMAGE_SETTINGS.find((key) => config[key] !== undefined);
    if (given !== undefined) throw new UserError(`${named(given, config[given])} only applies to images:DIR data, and the data is ${config.data}; leave it out`);
    return;
  }
  if (config.imageFit !== undefined && config.imageSize === undefined) {
    throw new UserError(`${named('imageFit', config.imageFit)} only applies with an image size; give one (e.g. --image-size 32,32) or leave it out`);
  }
  const channels = config.imageChannels ?? 3;
  const stats = config.imageNormalize;
  if (typeof stats === 'object' && stats.mean.length !== channels) {
    throw new UserError(`"imageNormalize" gives ${stats.mean.length} mean${stats.mean.length === 1 ? '' : 's'} and std${stats.mean.length === 1 ? '' : 's'}, and the images have ${channels} channel${channels === 1 ? '' : 's'}; give one mean and one std per channel`);
  }
}

/**
 * The samples of images:DIR with the run's settings. A run that recorded its classes (a checkpoint's
 * config) must find the same ones, in the same order: otherwise its labels would mean other classes.
 */
export function imageSource(dir: string, config: ImageSettings): ImageFolder {
  checkImageSettings({ ...config, data: `images:${dir}` });
  const folder = readImageFolder(dir, config);
  const recorded = config.imageData?.classes;
  if (recorded !== undefined && JSON.stringify(recorded) !== JSON.stringify(folder.classes)) {
    const missing = recorded.find((name) => !folder.classes.includes(name));
    const difference = missing !== undefined ? `has no class folder ${missing}` : `has the class folder ${folder.classes.find((name) => !recorded.includes(name))}`;
    throw new UserError(`${dir} ${difference}; the model was trained on the classes ${recorded.join(', ')}, which are its labels in that order`);
  }
  return folder;
}

/**
 * Normalizes the image samples in place, as the settings say: by the given mean and std, by those a
 * run recorded, or by those computed now over the training rows `rows` (sorted sample indices of
 * `train`, the validation split left out). Returns what train records in config.json and checkpoints.
 */
export function normalizeImages(config: ImageSettings, classes: string[], train: Dataset, test: Dataset | null, rows: ArrayLike<number>): RecordedImageData {
  const setting = config.imageNormalize;
  const [channels, height, width] = train.sampleShape;
  const area = height * width;
  if (setting === undefined) return { classes };
  let stats: ChannelStats;
  if (setting !== 'train') stats = setting;
  else if (config.imageData?.mean !== undefined && config.imageData.std !== undefined) stats = { mean: config.imageData.mean, std: config.imageData.std };
  else stats = channelStats(train.inputs, channels, area, rows);
  const flat = stats.std.findIndex((std) => !(std > 0));
  if (flat >= 0) {
    throw new UserError(`channel ${flat} of the training images has the same value ${stats.mean[flat]} everywhere, so "imageNormalize": "train" would divide by a standard deviation of 0; give "imageNormalize" {"mean": [...], "std": [...]} or leave it out`);
  }
  for (const data of [train, test]) if (data !== null) normalizeInPlace(data.inputs, channels, area, stats);
  return setting === 'train' ? { classes, mean: stats.mean, std: stats.std } : { classes };
}
