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
 * The samples of images:DIR with the run's settings, in memory, read on this thread (folder.ts; the
 * commands stream them instead: stream.ts). A run that recorded its classes must find the same ones.
 */
export function imageSource(dir: string, config: ImageSettings): ImageFolder {
  checkImageSettings({ ...config, data: `images:${dir}` });
  const folder = readImageFolder(dir, config);
  checkRecordedClasses(dir, config, folder.classes);
  return folder;
}

/**
 * A run that recorded its classes (a checkpoint's config) must find the same ones, in the same
 * order: otherwise its labels would mean other classes.
 */
export function checkRecordedClasses(dir: string, config: ImageSettings, classes: string[]): void {
  const recorded = config.imageData?.classes;
  if (recorded !== undefined && JSON.stringify(recorded) !== JSON.stringify(classes)) {
    const missing = recorded.find((name) => !classes.includes(name));
    const difference = missing !== undefined ? `has no class folder ${missing}` : `has the class folder ${classes.find((name) => !recorded.includes(name))}`;
    throw new UserError(`${dir} ${difference}; the model was trained on the classes ${recorded.join(', ')}, which are its labels in that order`);
  }
}

/**
 * The normalization the settings give: the given mean and std, those a run recorded, or those
 * `compute` finds over the training rows now. Null without normalization. A channel with one value
 * everywhere cannot be normalized by its own statistics: one line says so.
 */
export function chooseStats(config: ImageSettings, compute: () => ChannelStats): ChannelStats | null {
  const setting = config.imageNormalize;
  if (setting === undefined) return null;
  let stats: ChannelStats;
  if (setting !== 'train') stats = setting;
  else if (config.imageData?.mean !== undefined && config.imageData.std !== undefined) stats = { mean: config.imageData.mean, std: config.imageData.std };
  else stats = compute();
  const flat = stats.std.findIndex((std) => !(std > 0));
  if (flat >= 0) {
    throw new UserError(`channel ${flat} of the training images has the same value ${stats.mean[flat]} everywhere, so "imageNormalize": "train" would divide by a standard deviation of 0; give "imageNormalize" {"mean": [...], "std": [...]} or leave it out`);
  }
  return stats;
}

/** What train records of image data: the class names, and the normalization it computed ("train"). */
export function recordedImageData(config: ImageSettings, classes: string[], stats: ChannelStats | null): RecordedImageData {
  return config.imageNormalize === 'train' && stats !== null ? { classes, mean: stats.mean, std: stats.std } : { classes };
}

/**
 * Normalizes the image samples in place, as the settings say: by the given mean and std, by those a
 * run recorded, or by those computed now over the training rows `rows` (sorted sample indices of
 * `train`, the validation split left out). Returns what train records in config.json and checkpoints.
 */
export function normalizeImages(config: ImageSettings, classes: string[], train: Dataset, test: Dataset | null, rows: ArrayLike<number>): RecordedImageData {
  const [channels, height, width] = train.sampleShape;
  const area = height * width;
  const stats = chooseStats(config, () => channelStats(train.inputs, channels, area, rows));
  if (stats !== null) for (const data of [train, test]) if (data !== null) normalizeInPlace(data.inputs, channels, area, stats);
  return recordedImageData(config, classes, stats);
}
