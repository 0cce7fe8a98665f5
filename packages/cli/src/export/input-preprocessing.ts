import type { ChannelStats } from '../config/image-settings.js';
import { imageNormalization } from '../data/images/inputs.js';
import type { Checkpoint } from '../run/checkpoint.js';

/**
 * What a checkpoint's run did to its data before the model's first layer: the reader's layout and
 * scale, then the run's normalization. An exported file records it, so that whoever runs the file
 * can give it the input `predict` would.
 */
export interface InputPreprocessing {
  /** The order and meaning of a sample's values, in words. */
  readonly layout: string;
  /** What the reader multiplies raw pixel values by; absent where the values are taken as they are. */
  readonly scale?: string;
  /** The per-channel normalization after scaling; absent where the run has none. */
  readonly normalization?: ChannelStats;
  /** The class names in label order, where the run's data named them (images:DIR). */
  readonly classes?: readonly string[];
  /** The feature columns in order, where the run trained on csv:FILE. */
  readonly columns?: readonly string[];
}

export function inputPreprocessing(checkpoint: Pick<Checkpoint, 'config' | 'spec' | 'featureNames'>): InputPreprocessing {
  const { config, featureNames } = checkpoint;
  const shape = `[${checkpoint.spec.input.join(',')}]`;
  if (config.data.startsWith('images:')) {
    const [channels, height, width] = checkpoint.spec.input;
    const colours = channels === 1 ? 'grey (ITU-R 601 luma of RGB)' : 'RGB';
    const size = config.imageSize === undefined ? `images of ${height}x${width}` : `images brought to ${height}x${width} by ${config.imageFit ?? 'resize'}`;
    const normalization = imageNormalization(config);
    return {
      layout: `NCHW ${shape}, ${colours}, ${size}`,
      scale: '1/255 for 8-bit samples (1/65535 for 16-bit): values in [0,1]',
      ...(normalization === null ? {} : { normalization }),
      ...(config.imageData === undefined ? {} : { classes: config.imageData.classes }),
    };
  }
  if (config.data === 'fashion-mnist' || config.data.startsWith('idx:')) return { layout: `NCHW ${shape}, grey: the IDX images' bytes in file order`, scale: '1/255: values in [0,1]' };
  if (config.data.startsWith('csv:')) return { layout: `${shape}: the CSV's feature columns in order, the label left out`, ...(featureNames === undefined ? {} : { columns: featureNames }) };
  return { layout: `${shape}: the built-in data set's features` };
}

/** The preprocessing as string metadata (`lockstep.input.*`, `lockstep.classes`); `inFile`: whether the file itself normalizes. */
export function preprocessingMetadata(input: InputPreprocessing, inFile: boolean): Record<string, string> {
  const metadata: Record<string, string> = { 'lockstep.input.layout': input.layout };
  if (input.scale !== undefined) metadata['lockstep.input.scale'] = input.scale;
  if (input.normalization !== undefined) {
    metadata['lockstep.input.mean'] = JSON.stringify(input.normalization.mean);
    metadata['lockstep.input.std'] = JSON.stringify(input.normalization.std);
    metadata['lockstep.input.normalization'] = inFile
      ? '(x - mean) / std per channel, in the graph'
      : '(x - mean) / std per channel, not in this file: apply it before the first layer';
  }
  if (input.columns !== undefined) metadata['lockstep.input.columns'] = JSON.stringify(input.columns);
  if (input.classes !== undefined) metadata['lockstep.classes'] = JSON.stringify(input.classes);
  return metadata;
}
