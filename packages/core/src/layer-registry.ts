import { describeValue, LockstepError } from './errors.js';
import type { Module } from './modules/module.js';
import { checkDeclaredFields, type LayerFields } from './spec-fields.js';

/** One layer of a model spec as plain JSON: its type and the fields its declaration lists. */
export interface LayerEntry {
  readonly type: string;
}

/** What a layer's `fromSpec` may ask of the spec walker. */
export interface LayerBuildContext {
  /** Builds the list of layer entries in `entry[field]` (a container's children), checked like the top level. */
  layers(field: string, inputShape: readonly number[]): Module[];
}

/**
 * A layer type of the spec format: its name, its fields (checked before `fromSpec` runs) and how to
 * build a module from a checked entry. The module writes itself back with `toSpec()`, so every layer
 * type round-trips: spec -> module -> spec.
 */
export interface LayerFactory<Entry extends LayerEntry = LayerEntry> {
  readonly type: string;
  readonly fields: LayerFields;
  /** Builds the module of a checked entry; `inputShape` is the shape of one input sample. */
  fromSpec(entry: Entry, inputShape: readonly number[], context: LayerBuildContext): Module;
}

// A Map, not an object: "constructor" or "toString" is not a layer type, though every object has one.
const declarations = new Map<string, LayerFactory>();
/** The module file that registered each type registered while `registeringFrom` loaded one. */
const moduleFiles = new Map<string, string>();
let loadingFile: string | null = null;

/**
 * Runs `load`, which imports the module file `file`, and records `file` as the module of every layer
 * type registered until it settles, so that an error in such a type's code names the file as well as
 * the spec entry. One file at a time: a type registered meanwhile by other code would be put down to
 * it too.
 */
export async function registeringFrom<T>(file: string, load: () => Promise<T>): Promise<T> {
  const outer = loadingFile;
  loadingFile = file;
  try {
    return await load();
  } finally {
    loadingFile = outer;
  }
}

/**
 * Adds a layer type to the spec format; the built-in ones are added the same way. A worker pool
 * imports the module that registers it (see the trainer's `setup` option).
 */
export function registerLayer<Entry extends LayerEntry>(declaration: LayerFactory<Entry>): void {
  // Called from JavaScript modules that no compiler checked: a mistake here would otherwise surface as a
  // TypeError deep in the spec walker, naming neither the layer type nor the declaration.
  if (typeof declaration !== 'object' || declaration === null) {
    throw new LockstepError('E_SPEC', `registerLayer: the declaration must be an object { type, fields, fromSpec }, got ${describeValue(declaration)}`);
  }
  const { type } = declaration;
  if (typeof type !== 'string' || type === '') throw new LockstepError('E_SPEC', `registerLayer: "type" must be a non-empty string, got ${JSON.stringify(type)}`);
  const owner = `registerLayer(${JSON.stringify(type)})`;
  checkDeclaredFields(owner, declaration.fields);
  if (typeof declaration.fromSpec !== 'function') {
    throw new LockstepError('E_SPEC', `${owner}: "fromSpec" must be a function (entry, inputShape, context) that returns the layer's Module, got ${describeValue(declaration.fromSpec)}`);
  }
  if (declarations.has(type)) throw new LockstepError('E_SPEC', `registerLayer: "${type}" is already a layer type; choose another name`);
  declarations.set(type, declaration as unknown as LayerFactory);
  if (loadingFile !== null) moduleFiles.set(type, loadingFile);
}

export function layerDeclaration(type: string): LayerFactory | undefined {
  return declarations.get(type);
}

/** The module file that registered `type` (see `registeringFrom`); undefined for a built-in type, or one registered otherwise. */
export function layerModuleFile(type: string): string | undefined {
  return moduleFiles.get(type);
}

/** The registered layer types, built-in ones first, in the order they were registered. */
export function layerTypes(): string[] {
  return [...declarations.keys()];
}
