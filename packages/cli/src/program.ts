import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_RATES, MAX_CONFIGS, MAX_RATES, PROBE_SAMPLES } from './config/compare-limits.js';
import { DEFAULT_SHEET_SAMPLES, MAX_SHEET_SAMPLES } from './config/sheet-samples.js';
import { CSV_HELP } from './data/csv-help.js';
import { DATA_HELP } from './data/data-help.js';
import { UserError } from './errors.js';
import { EXPORT_FORMAT_NAMES } from './export/format-names.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Why --modules exists, said the same way by every command that loads a checkpoint. */
const MODULES_RULE = 'a checkpoint\'s modules run code, so they are imported only when listed here';

/** What --augment takes, said once for train, compare and data. */
const AUGMENT_HELP =
  'keyed augmentation of image training samples, e.g. cropPadding=2,flip,translate=0.1,brightness=0.2,contrast=0.2 or the same as JSON ' +
  '(crop padding 0 to half the height, translate 0 to 0.5 of it, brightness and contrast 0 to 1; default: none)';

/**
 * The image-folder flags, the same for every command that reads a run's data from its settings
 * (train, data, compare), so the advice of an image error holds whichever of them gave it.
 */
function imageOptions(command: Command, { resumes }: { resumes: boolean }): Command {
  return command
    .option('--image-size <h,w>', 'images:DIR: bring every image to this height and width (default: every image must have one size)')
    .option('--image-fit <fit>', 'images:DIR: resize (antialiased bilinear, default) or crop (the centre, zero-padded)')
    .option('--image-channels <n>', 'images:DIR: 1 (grey) or 3 (RGB, default); alpha is dropped')
    .option('--skip-bad-images', 'images:DIR: leave out files that are not readable PNG or JPEG images, with a note; train lists them in the run folder\'s skipped-images.txt (default: stop at the first)')
    .option('--cache-mb <MiB>', `images:DIR: MiB of decoded images kept in memory, the first ones; the others are decoded again each epoch on the worker threads, with the same results (default 1024${resumes ? '; may change on --resume' : ''})`);
}

/** What a path option names, by its placeholder (`--out <dir>`), for the line that refuses it empty. */
const PATH_ARGUMENTS: Record<string, string> = { file: 'a file name', dir: 'a folder name', checkpoint: 'a checkpoint file' };

/**
 * An empty path (`--out ""`, or `--out "$DIR"` with DIR unset) would reach the file system as no
 * name at all, and fail there with a message that shows nothing; every command refuses it first.
 */
function refuseEmptyPaths(command: Command): void {
  for (const option of command.options) {
    const names = PATH_ARGUMENTS[option.flags.match(/<(\w+)>$/)?.[1] ?? ''];
    if (names === undefined || command.getOptionValue(option.attributeName()) !== '') continue;
    throw new UserError(`${option.long} must not be empty; give ${names}`);
  }
}

/** Holds the exit code a command chose, since commander's action handlers return nothing. */
export interface Outcome {
  exitCode: number;
}

/**
 * Every command's flags and help, which commander needs to check a command line and to print --help.
 * Each action imports its command's code only when it runs: loading all of it up front took most of
 * every start's time, --help and flag errors included.
 */
export function buildProgram(outcome: Outcome): Command {
  const program = new Command('lockstep')
    .description('Train neural networks on every core, reproducible to the bit at any worker count.')
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    .hook('preAction', (_program, command) => refuseEmptyPaths(command))
    .addHelpText('after', `\nExamples:\n  lockstep train                      train the default model on the built-in data set\n  lockstep train --data fashion-mnist --epochs 3\n  lockstep eval --checkpoint runs/x/checkpoint.lockstep\n  lockstep import --config layers.json --weights w.safetensors --out runs/w   PyTorch weights as a checkpoint, without training\n  lockstep compare --dropout 0,0.2,0.5   train once per dropout rate and draw train and validation accuracy\n\n${DATA_HELP}`);

  const train = program
    .command('train')
    .description('train a model; flags override the config file, and the effective config is saved in the run folder')
    .option('--config <file>', 'a JSON config file (keys: data, epochs, batchSize, chunkSize, optimizer, lr, momentum, weightDecay, clipNorm, schedule, earlyStopping, kernel, dropout, hidden, layers, seed, augment, validationSplit, checkpointEvery, modules, imageSize, imageFit, imageChannels, imageNormalize, skipBadImages, cacheMb)')
    .option('--data <spec>', 'default | fashion-mnist | idx:DIR | csv:FILE | images:DIR (default: default)');
  imageOptions(train, { resumes: true })
    .option('--workers <n>', 'worker threads (default: every core); at most the chunks of a step and 2 a core; any count gives the same model')
    .option('--epochs <n>', 'total epochs of the run, counting those of a resumed checkpoint (default 10)')
    .option('--batch-size <n>', 'samples per optimizer step (default 64)')
    .option('--chunk-size <n>', 'samples per gradient chunk, the unit of parallel work (default 32)')
    .option('--lr <x>', 'learning rate (default 0.05)')
    .option('--dropout <p>', 'dropout rate of every dropout layer (default 0.5)')
    .option('--kernel <kernel>', 'matrix products: strict (the same bits on every CPU, default) or relaxed (fused multiply-add: faster; bits may differ on another CPU)')
    .option('--clip-norm <x>', 'clip the gradient to this global L2 norm before each update (default: no clipping)')
    .option('--schedule <spec>', 'learning-rate schedule with PyTorch\'s names, e.g. kind=step,step_size=10,gamma=0.5 or kind=warmup-cosine,total_iters=5 (kinds: step, cosine, warmup-cosine, one-cycle, plateau; default: constant); with one, the epoch lines show each epoch\'s lr')
    .option('--early-stopping <spec>', 'stop when a metric stops improving, e.g. patience=3,restoreBestWeights (monitor val_loss by default); the best epoch is kept as best.lockstep')
    .option('--seed <n>', 'seed of weights, shuffling, masks and the built-in data (default 0)')
    .option('--augment <list>', AUGMENT_HELP)
    .option('--out <dir>', 'run folder (default: runs/<time>, or the checkpoint\'s folder with --resume); one that holds another run\'s checkpoint, or any file a run writes (config.json, metrics.jsonl, ...), is refused')
    .option('--resume <checkpoint>', 'continue a run exactly where its checkpoint left it; with another --out, as a branch there that starts with the run\'s metrics (and best.lockstep) up to the checkpoint')
    .option('--init-from <file>', 'fine-tune: build the model from the config, then load these weights (a .safetensors file with PyTorch names, e.g. from lockstep export); names and shapes must match; config.json and the checkpoints record the file and its sha256')
    .option('--mpi', 'train as one rank of an MPI job (implied when mpirun started lockstep): rank 0 writes the run folder, every rank trains every step')
    .option('--allow-changed-data', 'with --resume: go on although the data changed since the checkpoint (the run will not match an uninterrupted one)')
    .option('--overwrite', 'replace the run in --out: its checkpoint, config, metrics and curves are deleted before the new run writes anything (with --resume: only in an --out other than the checkpoint\'s folder)')
    .option('--modules <files>', `module files that call registerLayer, e.g. layers.mjs,more.mjs, instead of the config's "modules"; with --resume, ${MODULES_RULE} or in your --config`)
    .option('--checkpoint-every <steps>', 'also save a checkpoint every this many optimizer steps (default: at each epoch end only)')
    .option('--worker-heap <MiB>', 'heap limit of each worker thread; a worker over it stops the run with one line (default: Node\'s)')
    .option('--retries <n>', 'when a worker dies, restart the workers from the last checkpoint up to n times (default 0; off across ranks, where a failure ends the job: resume instead)')
    .option('--json', 'print one JSON object per line')
    .option('--quiet', 'print only the result (with --json: only its JSON object)')
    .addHelpText('after', `\nExamples:\n  lockstep train\n  lockstep train --workers 1 --epochs 3 --out runs/a\n  lockstep train --resume runs/a/checkpoint.lockstep --epochs 6\n  lockstep train --init-from pretrained.safetensors --lr 0.01\n  lockstep train --data csv:samples.csv --dropout 0.2 --lr 0.01\n\nA run folder that holds a checkpoint takes only the run that --resume continues, or a new one with --overwrite; a folder without one takes a new run if it holds none of the files a run writes (config.json, metrics.jsonl, curves.svg, ...), else only with --overwrite.\nCtrl-C finishes the current step, saves a checkpoint and exits with code 130, saying so on stderr at once; Ctrl-C again exits now, naming the last checkpoint and how to resume. A stdout that fails (a closed pipe, a full disk) stops the run the same way, with exit code 1.\n\n${DATA_HELP}`)
    .action(async (flags) => {
      const { trainCommand } = await import('./commands/train.js');
      outcome.exitCode = await trainCommand(flags);
    });

  const data = program
    .command('data')
    .description('draw a contact sheet of training samples, each as stored and as augmentation changes it, with its label: what the network will see')
    .option('--config <file>', 'a JSON config file, as for train (its data, seed, validationSplit, augment and image settings are used)')
    .option('--data <spec>', 'default | fashion-mnist | idx:DIR | csv:FILE | images:DIR (default: default)');
  imageOptions(data, { resumes: false })
    .option('--augment <list>', AUGMENT_HELP)
    .option('--seed <n>', 'the run\'s seed: it keys the validation split and every augmentation (default 0)')
    .option('--count <n>', `samples to draw, the first of the training set, 1 to ${MAX_SHEET_SAMPLES} (default ${DEFAULT_SHEET_SAMPLES})`)
    .option('--epoch <n>', 'the epoch whose augmentation to draw, counted from 0 (default 0)')
    .option('--out <file>', 'the PNG file to write (default sheet.png); an existing one is replaced only with --overwrite')
    .option('--overwrite', 'replace --out if it exists')
    .addHelpText('after', '\nExamples:\n  lockstep data --data fashion-mnist --augment cropPadding=2,flip,brightness=0.2 --out sheet.png\n  lockstep data --config examples/configs/cnn.json --epoch 3 --count 32')
    .action(async (flags) => {
      const { dataCommand } = await import('./commands/data.js');
      outcome.exitCode = await dataCommand(flags);
    });

  const compare = program
    .command('compare')
    .description('train the same model from the same initial weights once per dropout rate (--dropout), or the model of each config file (--configs), and draw train and validation accuracy per epoch for all of them')
    .option('--dropout <rates>', `1 to ${MAX_RATES} distinct rates from 0 to 1, separated by commas (default ${DEFAULT_RATES}); each sets every dropout layer's p`)
    .option('--config <file>', 'a JSON config file, as for train (its dropout rate is replaced by each of --dropout)')
    .option('--configs <files>', `instead of --dropout and --config: 1 to ${MAX_CONFIGS} config files separated by commas, each named by its file name; they may differ only in layers, hidden and dropout, and the flags apply to all (--hidden only where the files agree on hidden)`)
    .option('--data <spec>', 'default | fashion-mnist | idx:DIR | csv:FILE | images:DIR (default: default)');
  imageOptions(compare, { resumes: false })
    .option('--hidden <widths>', 'hidden layer widths of the default MLP, e.g. 1024,1024 (default 256,256)')
    .option('--workers <n>', 'worker threads (default: every core); at most the chunks of a step and 2 a core; any count gives the same numbers')
    .option('--epochs <n>', 'epochs per rate (default 10)')
    .option('--batch-size <n>', 'samples per optimizer step (default 64)')
    .option('--chunk-size <n>', 'samples per gradient chunk, the unit of parallel work (default 32)')
    .option('--lr <x>', 'learning rate (default 0.05)')
    .option('--clip-norm <x>', 'clip the gradient to this global L2 norm before each update (default: no clipping)')
    .option('--kernel <kernel>', 'matrix products: strict (default) or relaxed (fused multiply-add)')
    .option('--augment <list>', AUGMENT_HELP)
    .option('--seed <n>', 'seed of weights, shuffling, masks and the built-in data (default 0)')
    .option('--out <dir>', 'run folder (default: runs/compare-<time>); one that holds another comparison, or any file this one writes, is refused')
    .option('--overwrite', 'replace the comparison in --out: its compare.json, pictures and per-rate or per-config folders, and the files this one writes, are deleted before the new one writes anything')
    .option('--mpi', 'run as one rank of an MPI job (implied when mpirun started lockstep): every rank trains every rate or config, each step split among the ranks; rank 0 prints and writes')
    .option('--json', 'print one JSON object per line')
    .option('--quiet', 'print only the result table (with --json: only the result\'s JSON object)')
    .addHelpText(
      'after',
      `\nExamples:\n  lockstep compare --dropout 0,0.5 --epochs 5\n  lockstep compare --data fashion-mnist --hidden 1024,1024 --batch-size 128 --chunk-size 64 --dropout 0,0.2,0.5\n  lockstep compare --configs examples/configs/variance-shift/dropout-before-bn.json,examples/configs/variance-shift/dropout-after-bn.json,examples/configs/variance-shift/no-dropout.json\n\n` +
        `Train accuracy is measured in eval mode (dropout off) after each epoch, on the training samples (a seeded subset of ${PROBE_SAMPLES} when there are more).\n` +
        'The run folder gets compare.svg, compare.html, compare.json and one folder per rate or config with its config.json and metrics.jsonl; a folder that holds a comparison, or any file this one writes, takes it only with --overwrite.\n' +
        'Ctrl-C stops after the current step, keeps the finished rates\' or configs\' results and exits with code 130, saying so on stderr at once; Ctrl-C again exits now, saying what compare.json holds.',
    )
    .action(async (flags) => {
      const { compareCommand } = await import('./commands/compare.js');
      outcome.exitCode = await compareCommand(flags);
    });

  program
    .command('eval')
    .description('loss, accuracy and confusion matrix of a checkpoint on the test set (or the run\'s validation split)')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by lockstep train (checkpoint.lockstep, or best.lockstep with early stopping) or lockstep import')
    .option('--data <spec>', 'another data set of the same shape (default: the run\'s); images:DIR is read with the run\'s image settings and must have its classes')
    .option('--workers <n>', 'worker threads (default: every core)')
    .option('--mc-samples <k>', 'also Monte Carlo dropout with k passes: calibration (ECE) and accuracy at coverage against eval mode, with plots')
    .option('--split <split>', 'test (the data\'s test set, default where it has one) or validation (the run\'s validation split, which metrics.jsonl\'s valLoss measures)')
    .option('--skip-bad-images', 'images:DIR: leave out test-set files that are not readable PNG or JPEG images, each named in a note on stderr and counted in the report; the validation split takes it only where the run skipped bad images too (default: as the run did)')
    .option('--seed <n>', 'seed of the Monte Carlo masks (default 0)')
    .option('--out <dir>', 'folder for reliability.svg, coverage.svg and calibration.json, made once they are written (default: the checkpoint\'s folder, where they replace an earlier eval\'s); another folder that holds one of them is refused')
    .option('--overwrite', 'with --mc-samples: replace the calibration files in --out')
    .option('--modules <files>', `module files to import, e.g. layers.mjs,more.mjs; ${MODULES_RULE}`)
    .option('--mpi', 'run as one rank of an MPI job (implied when mpirun started lockstep): each rank computes a share of the rows; rank 0 prints and writes')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  lockstep eval --checkpoint runs/a/checkpoint.lockstep\n  lockstep eval --checkpoint runs/a/checkpoint.lockstep --mc-samples 30')
    .action(async (flags) => {
      const { evalCommand } = await import('./commands/evaluate.js');
      outcome.exitCode = await evalCommand(flags);
    });

  program
    .command('export')
    .description('write a checkpoint\'s model in another format, to use it elsewhere: safetensors with nn.Sequential\'s names (PyTorch), or an ONNX file of its eval-mode graph (onnxruntime); both record the input they take (images: NCHW, RGB, pixel / 255, which the ONNX graph normalizes with imageNormalize\'s mean and std) and the class names')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by lockstep train (checkpoint.lockstep, or best.lockstep with early stopping) or lockstep import')
    .option('--format <format>', `the file format: ${EXPORT_FORMAT_NAMES.join(', ')}`)
    .option('--out <file>', 'the file to write, with the format\'s extension (.safetensors, .onnx); written to a temporary file, then renamed; an existing one is replaced only with --overwrite')
    .option('--overwrite', 'replace --out if it exists')
    .option('--softmax', 'onnx: end the graph with a softmax over each sample\'s whole output, so it outputs class probabilities [batch, classes] (as predict prints) instead of logits [batch, ...the model\'s output shape]')
    .option('--no-preprocessing', 'onnx: leave the run\'s input normalization ((x - mean) / std per channel, imageNormalize) out of the graph: the bare network, which takes normalized values; the file records the mean and std either way')
    .option('--modules <files>', `module files to import, e.g. layers.mjs,more.mjs; ${MODULES_RULE}`)
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  lockstep export --checkpoint runs/a/checkpoint.lockstep --format safetensors --out model.safetensors\n  lockstep export --checkpoint runs/a/checkpoint.lockstep --format onnx --softmax --out model.onnx\n  /usr/bin/python3 tools/parity/generate_safetensors.py --check model.safetensors logits.json   (logits.json from node tools/parity/lockstep-logits.mjs)')
    .action(async (flags) => {
      const { exportCommand } = await import('./commands/export.js');
      outcome.exitCode = await exportCommand(flags);
    });

  program
    .command('import')
    .description('make a run folder from a model config and a .safetensors file of its weights, without training: its checkpoint.lockstep holds the weights bit for bit (BatchNorm running statistics too) at step 0, for eval, predict and export as any checkpoint, and as a start to train from with train --resume')
    .option('--config <file>', 'the JSON config file, as for train (required): its layers (or hidden) and data give the model, the data its input shape and classes, a CSV\'s feature columns, an image run\'s class names and imageNormalize')
    .option('--weights <file>', 'the .safetensors file (required): every tensor of the model, by nn.Sequential\'s names (0.weight, 1.running_var), as PyTorch\'s safetensors.torch.save_file(model.state_dict(), ...) and lockstep export write them; names and shapes must match; config.json and the checkpoint record the file and its sha256, as train --init-from does')
    .option('--out <dir>', 'run folder (default: runs/import-<time>); one that holds a run\'s checkpoint, or any file a run writes (config.json, metrics.jsonl, ...), is refused')
    .option('--overwrite', 'replace the run in --out: its checkpoint, config, metrics and curves are deleted before the import writes anything')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  lockstep import --config my-layers.json --weights w.safetensors --out runs/imported\n  lockstep predict --checkpoint runs/imported/checkpoint.lockstep --input rows.csv\n  lockstep export --checkpoint runs/imported/checkpoint.lockstep --format onnx --softmax --out model.onnx\n' +
        '  lockstep train --resume runs/imported/checkpoint.lockstep --epochs 3   (trains as train --config my-layers.json --init-from w.safetensors --epochs 3 would, bit for bit)\n\n' +
        'F32 tensors are kept as they are, so export --format safetensors gives them back byte for byte; F16, BF16 and F64 are read as float32, and BatchNorm\'s num_batches_tracked is left out, as train --init-from reads them. ' +
        'The checkpoint holds a fresh optimizer state and the config file\'s settings with train\'s defaults, which --resume cannot change (but for lr, clipNorm and epochs); to fine-tune with other settings, give the file to train --init-from instead.',
    )
    .action(async (flags) => {
      const { importCommand } = await import('./commands/import.js');
      outcome.exitCode = await importCommand(flags);
    });

  program
    .command('predict')
    .description('class probabilities for each row of an input file, or each image of a folder')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by lockstep train (checkpoint.lockstep, or best.lockstep with early stopping) or lockstep import')
    .requiredOption('--input <file>', 'rows to predict: a .csv (a header line of column names, then numbers; a "label" column is left out), an IDX images file, or a PNG or JPEG image or a folder of them (one row per image, with its path)')
    .option('--mc-samples <k>', 'Monte Carlo dropout: keep dropout on, draw k keyed masks, report mean, std, entropy and mutual information')
    .option('--seed <n>', 'seed of the Monte Carlo masks (default 0)')
    .option('--format <format>', 'json or csv (default json)')
    .option('--workers <n>', 'worker threads (default: every core)')
    .option('--skip-bad-images', 'with a folder --input: leave out files that are not readable PNG or JPEG images, each named in a note on stderr, and give rows for the others (default: stop at the first)')
    .option('--modules <files>', `module files to import, e.g. layers.mjs,more.mjs; ${MODULES_RULE}`)
    .option('--mpi', 'run as one rank of an MPI job (implied when mpirun started lockstep): each rank computes a share of the rows; rank 0 prints')
    .addHelpText('after', '\nExamples:\n  lockstep predict --checkpoint runs/a/checkpoint.lockstep --input rows.csv\n  lockstep predict --checkpoint runs/a/checkpoint.lockstep --input rows.csv --mc-samples 20 --format csv\n  lockstep predict --checkpoint runs/a/checkpoint.lockstep --input scans --skip-bad-images --format csv\n\n' + CSV_HELP)
    .action(async (flags) => {
      const { predictCommand } = await import('./commands/predict.js');
      outcome.exitCode = await predictCommand(flags);
    });

  return program;
}
