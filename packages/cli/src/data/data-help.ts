import { CSV_HELP } from './csv-help.js';
import { DEBIAN_FASHION_MNIST, FASHION_MNIST_DIR_VARIABLE } from './fashion-mnist-folder.js';

/**
 * The data sources (--data) as --help lists them; apart from their readers (sources.ts), so that the
 * help, which every lockstep start builds, loads none of them.
 */
export const DATA_HELP = `data sets (--data):
  default          built in: 5,000 + 1,000 test samples of 128 features in 10 classes, generated from --seed
  fashion-mnist    Debian's dataset-fashion-mnist (${DEBIAN_FASHION_MNIST}), or the folder in $${FASHION_MNIST_DIR_VARIABLE}
  idx:DIR          an IDX pair train-images-*/train-labels-* in DIR (gzip or raw), and t10k-*/test-* if present
  csv:FILE         a CSV file, as below
  images:DIR       PNG or JPEG files in one folder per class (DIR/cat/1.png), the sorted folder names
                   giving the labels; DIR/train and DIR/test (or DIR/val) when present are the splits.
                   Config: imageSize [h, w] (--image-size 32,32), imageFit resize|crop, imageChannels
                   1|3 (default 3), imageNormalize "train" or {"mean": [...], "std": [...]};
                   --skip-bad-images leaves bad files out (train lists them in the run folder's skipped-images.txt;
                   eval and predict name each on stderr);
                   --cache-mb (cacheMb) MiB of decoded images kept in memory (default 1024), the rest
                   decoded again each epoch on the worker threads

${CSV_HELP}`;
