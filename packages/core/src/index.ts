export { type WasmMemory, type WasmModule, type WasmInstanceObject } from './wasm/webassembly-types.js';
export { LockstepError, checkChoice, checkInteger, checkNumber, checkPositive, checkKnownFields, checkOptionsObject, describeValue, fromAnotherCopy, type ErrorCode } from './errors.js';
export { tensor, sizeOf, type Tensor } from './tensor.js';
export { rootKey, foldIn, foldInString, randomBits, uniformAt, fillUniform, fillNormal, permutation, type Key } from './random/key.js';
export { threefry2x32 } from './random/threefry.js';
export { keep, dropoutRunKey, layerMaskKey, fillBatchMask, fillSampleMask, fillWeightMask } from './random/mask.js';
export { Module, type BufferSpec, type ForwardContext, type GradientMode, type ParameterSpec, type ParameterViews, type Initializer } from './modules/module.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './modules/batch-norm.js';
export { LayerNorm, type LayerNormOptions } from './modules/layer-norm.js';
export { Linear, type LinearOptions } from './modules/linear.js';
export { DropConnectLinear, type DropConnectLinearOptions } from './modules/drop-connect.js';
export { ReLU, LeakyReLU, Tanh, Sigmoid, GELU, SELU, type GeluApproximation } from './modules/activations.js';
export { GaussianDropout, AlphaDropout } from './modules/noise-dropout.js';
export { KeyedDropout } from './modules/keyed-dropout.js';
export { Flatten } from './modules/flatten.js';
export { Dropout, trainDropoutOnly, type DropoutLayerOptions } from './modules/dropout.js';
export { MaskDropout, type MaskFunction, type MaskRequest } from './modules/mask-dropout.js';
export { softmaxRows } from './ops/softmax.js';
export { Sequential } from './modules/sequential.js';
export { Conv2d, type Conv2dOptions, type Pair } from './modules/conv2d.js';
export { MaxPool2d, AvgPool2d, GlobalAvgPool2d, type Pool2dOptions, type AvgPool2dOptions } from './modules/pool.js';
export { Dropout2d } from './modules/dropout2d.js';
export { dropout, applyMask, checkDropoutRate, trainScale, evalScale, type DropoutScaling, type DropoutOptions } from './ops/dropout.js';
export { erf } from './ops/erf.js';
export { addKernelBuffer, useKernelMemory } from './wasm/kernel-memory.js';
export {
  activeKernel,
  addRunningSums,
  KERNEL_CHOICES,
  KERNEL_FAMILIES,
  matmul,
  nativeMatmulIsa,
  rowMajor,
  runningProduct,
  runningSumsLength,
  transposed,
  useKernel,
  useNativeMatmul,
  withParametersFixed,
  type KernelChoice,
  type MatrixView,
  type NativeMatmul,
} from './ops/matmul.js';
export {
  initializer,
  kaimingUniform,
  kaimingNormal,
  xavierUniform,
  xavierNormal,
  torchDefault,
  zeros,
  INIT_NAMES,
  type InitName,
} from './init.js';
export { Model, MAX_MODEL_VALUES, parameterLayout, bufferLayout, rowIndices, type ParameterEntry, type BufferEntry, type TensorEntry, type ModelBuffers } from './model.js';
export { fingerprint, type Fingerprinted } from './fingerprint.js';
export { crossEntropy } from './losses/cross-entropy.js';
export { meanSquaredError } from './losses/mse.js';
export { lossByName, defaultLoss } from './losses/index.js';
export type { Loss, LossName, LossResult } from './losses/loss.js';
export { sgd, adam, adamw, checkOptimizer, OPTIMIZER_KINDS, stateSlots, type OptimizerConfig, type SgdConfig, type AdamConfig, type SgdOptions, type AdamOptions } from './optim/optimizer.js';
export { applyUpdate, type UpdateBuffers } from './optim/update.js';
export { Optimizer } from './optim/optimizer-loop.js';
export { applyMaxNorm, maxNormPlan, maxNormRanges, MAX_NORM_EPSILON, type MaxNormPlan, type MaxNormBlock } from './optim/max-norm.js';
export {
  learningRateAt,
  checkSchedule,
  checkScheduleRun,
  initialScheduleState,
  plateauStep,
  missingMetric,
  MONITORED_METRICS,
  MONITOR_FIX,
  SCHEDULE_KINDS,
  type MonitoredMetric,
  type PlateauState,
  type ScheduleConfig,
  type ScheduleSpec,
  type ScheduleInterval,
  type ScheduleKind,
  type ScheduleNamer,
  type ScheduleRun,
} from './optim/schedule.js';
export { Dataset, Batch, checkDataset, checkInferenceInputs, sliceTargets, type Targets, type TargetsInput, type SampleReader, type ReaderRecipe, type StreamedSamples } from './data/dataset.js';
export {
  augmentSample,
  augmentDecisions,
  applyDecisions,
  augmentRows,
  augmentGatheredRows,
  augmentRunKey,
  sampleAugmentKey,
  checkAugment,
  checkAugmentSpec,
  checkAugmentFits,
  isIdentityAugment,
  AUGMENT_FIELDS,
  type AugmentSpec,
  type AugmentDecisions,
  type AugmentNamer,
  type Augmentation,
  type CheckedAugmentSpec,
} from './data/augment.js';
export { parseIdx, idxImagesToFloat, idxLabels, checkIdxPair, type IdxArray, type IdxDataType, type IdxOptions } from './data/idx.js';
export { syntheticClassification, builtinDataset, type SyntheticOptions } from './data/synthetic.js';
export { torchName, stateDictOf, loadStateDictInto, checkStateDict, checkStateValues, SAME_MODEL_REMEDY, negativeRunningVariance, asStateDict, stateDictMismatches, type StateDict, type StateTensor } from './interop/state-dict.js';
export { encodeSafetensors, decodeSafetensors, loadSafetensors, modelFromSafetensors, SPEC_METADATA_KEY, type DecodedSafetensors, type SafetensorsOptions } from './interop/safetensors.js';
export { readSafetensors, writeSafetensors, halfToNumber, bfloat16ToNumber, READ_DTYPES, MAX_HEADER_BYTES, type ReadDtype, type SafetensorsFile, type SafetensorsTensor } from './interop/safetensors-format.js';
export { sequentialFromSpec, modelFromSpec, layerSpecOf, specOf, mapLayerEntries, layerEntries, type ModelSpec } from './spec.js';
export { registerLayer, registeringFrom, layerTypes, type LayerFactory, type LayerEntry, type LayerBuildContext } from './layer-registry.js';
export type { FieldKind, LayerFields } from './spec-fields.js';
export type { LayerSpec } from './modules/builtin-layers.js';
export { appendRegion, kernelMemory } from './wasm/memory.js';
export {
  clipFactor,
  gradientNorm,
  NORM_BLOCK,
  normBlockCount,
  UpdateKernel,
  type UpdateAddresses,
} from './optim/update-kernel.js';
export { checkBatching, epochOrder, epochBatches, type BatchPlan } from './engine/plan.js';
export { chunkGradient, type Chunk } from './engine/chunk-gradient.js';
export { reduceAndMeasure, reduceChunkSlots, reduceChunkScalars, localReduce, type ChunkReduce } from './engine/reduce.js';
export { firstNonFinite, nonFiniteGradientError, nonFiniteLossError, stepFailure } from './engine/non-finite.js';
export { SOLE_PARTY, STEP_MEETINGS, parameterRanges, shareOf, type Party, type PartyShare, type StepMeeting, type Range } from './engine/party.js';
export { chunksPerBlock, blockCount, rankBlock, type RankGroup } from './engine/ranks.js';
export { StepEngine, STEP_OUTCOMES, rankScalars, type RankExchange, type StepBuffers, type StepOrder, type StepOutcome, type StepReport, type StepSetup } from './engine/step.js';
export { checkFit, checkFitOptions, checkDataFits, checkLossFits, checkChunkRows, checkPassRows, EVAL_BATCH_SIZE, EPOCH_OPTION_FIELDS, type EpochOptions, type FitPlan } from './engine/fit-plan.js';
export { combineChunkStatistics } from './engine/statistics.js';
export { epochLoop, type EpochAnswer, type EpochLoop, type EpochRequest, type FitResult, type LoopSettings } from './engine/epochs.js';
export { runCallbacks, type Callback, type EpochEndContext, type StepEndContext } from './engine/callbacks.js';
export {
  checkEarlyStopping,
  checkEarlyStoppingState,
  checkMonitored,
  earlyStoppingStep,
  monitoredValue,
  newEarlyStoppingState,
  type CheckedEarlyStopping,
  type EarlyStoppingOptions,
  type EarlyStoppingState,
} from './engine/early-stopping.js';
export { newTrainingState, checkTrainingState, type ResumableState, type TrainingState } from './engine/state.js';
export { epochMetrics, TimingTotals, type EpochMetrics, type EpochTotals, type Evaluation, type FitTimings, type StepProgress } from './engine/progress.js';
export { fit, evaluate, predict, predictWithUncertainty, type FitOptions, type EvaluateOptions } from './trainer/reference.js';
export {
  mcDropoutRows,
  sampledDropoutLayers,
  rowEntropies,
  checkUncertaintyOptions,
  uncertaintyBytes,
  uncertaintyViews,
  MAX_MC_SAMPLES,
  type Uncertainty,
  type UncertaintyOptions,
  type UncertaintyOutputs,
} from './trainer/mc-dropout.js';
export { type ClassPredictions } from './metrics/predictions.js';
export { calibration, DEFAULT_CALIBRATION_BINS, type Calibration, type ReliabilityBin } from './metrics/calibration.js';
export { coverageCurve, accuracyAtCoverage, type CoveragePoint } from './metrics/coverage.js';
export {
  exportOnnx,
  decodeModel,
  registerOnnxRule,
  OnnxGraph,
  ONNX_INPUT_NAME,
  ONNX_LOGITS_NAME,
  ONNX_PROBABILITIES_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET_VERSION,
  type InputNormalization,
  type ModelProto,
  type OnnxAttribute,
  type OnnxExportOptions,
  type OnnxRule,
} from './interop/onnx/index.js';
