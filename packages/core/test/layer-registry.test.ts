import { describe, expect, it, vi } from 'vitest';
import { registerLayer, registeringFrom } from '../src/layer-registry.js';
import { reluLayer } from '../src/modules/activations.js';
import { Module } from '../src/modules/module.js';
import { Sequential } from '../src/modules/sequential.js';
import { layerEntries, layerSpecOf, mapLayerEntries, modelFromSpec, sequentialFromSpec, specOf } from '../src/spec.js';
import type { Tensor } from '../src/tensor.js';

/** y = x + shift on every value: a layer type this test adds to the spec format. */
class Shift extends Module {
  readonly kind = 'Shift';

  constructor(readonly shift: number, readonly label: string) {
    super();
  }

  override toSpec(): { type: 'test-shift'; shift: number; label: string } {
    return { type: 'test-shift', shift: this.shift, label: this.label };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    return { data: input.data.map((v) => v + this.shift), shape: input.shape };
  }

  override backward(gradOutput: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? gradOutput : null;
  }
}

registerLayer<{ type: 'test-shift'; shift: number; label?: string }>({
  type: 'test-shift',
  fields: { required: { shift: 'number' }, optional: { label: 'init' } },
  fromSpec: (entry) => new Shift(entry.shift, entry.label ?? 'torch-default'),
});

const BUILTIN = 'linear, relu, leaky-relu, tanh, sigmoid, gelu, flatten, dropout, sequential, conv2d, max-pool2d, avg-pool2d, global-avg-pool2d, dropout2d, selu, gaussian-dropout, alpha-dropout, batch-norm1d, batch-norm2d, layer-norm';

describe('a layer type added with one registerLayer call', () => {
  const spec = {
    input: [3],
    layers: [
      { type: 'linear', in: 3, out: 2, bias: true, init: 'torch-default' },
      { type: 'test-shift', shift: 0.5, label: 'xavier-uniform' },
      { type: 'sequential', layers: [{ type: 'test-shift', shift: -2, label: 'torch-default' }] },
    ],
  };

  it('builds from a spec, and specOf of the built model gives that spec back, field by field', () => {
    const model = modelFromSpec(spec, 7);
    const [, shift, nested] = model.module.children();
    expect(shift).toBeInstanceOf(Shift);
    expect((shift as Shift).shift).toBe(0.5);
    expect(specOf(model)).toEqual(spec);
    expect(layerSpecOf(nested.children()[0]!)).toEqual({ type: 'test-shift', shift: -2, label: 'torch-default' });
    const again = modelFromSpec(JSON.parse(JSON.stringify(specOf(model))), 7);
    expect([...again.params]).toEqual([...model.params]);
  });

  it('has its fields checked by the spec walker, with the messages of the built-in layers', () => {
    expect(() => sequentialFromSpec({ input: [3], layers: [{ type: 'test-shift' }] })).toThrow('model spec layers[0] (test-shift): "shift" is required');
    expect(() => sequentialFromSpec({ input: [3], layers: [{ type: 'test-shift', shift: 'x' }] })).toThrow('model spec layers[0] (test-shift): "shift" must be a finite number, got "x"');
    expect(() => sequentialFromSpec({ input: [3], layers: [{ type: 'test-shift', shift: 1, scale: 2 }] })).toThrow(
      'model spec layers[0] (test-shift): unknown field "scale"; known fields: shift, label',
    );
  });

  it('is listed, after the built-in types, when an entry names an unknown type', () => {
    expect(() => sequentialFromSpec({ input: [3], layers: [{ type: 'shift' }] })).toThrow(`model spec layers[0]: "type" must be one of ${BUILTIN}, test-shift, got "shift"`);
  });

  it('cannot take the name of a type already registered, built-in or not', () => {
    for (const type of ['linear', 'test-shift']) {
      expect(() => registerLayer({ type, fields: {}, fromSpec: () => new Shift(0, '') })).toThrow(`registerLayer: "${type}" is already a layer type; choose another name`);
    }
  });

  it('without a toSpec of its class, a module built from a spec writes back the entry it was built from', () => {
    class Plain extends Shift {
      override toSpec = Module.prototype.toSpec as never;
    }
    registerLayer<{ type: 'test-plain-shift'; shift: number }>({ type: 'test-plain-shift', fields: { required: { shift: 'number' } }, fromSpec: (entry) => new Plain(entry.shift, '') });
    const plainSpec = { input: [3], layers: [{ type: 'test-plain-shift', shift: 1.5 }, { type: 'sequential', layers: [{ type: 'test-plain-shift', shift: -1 }] }] };
    const model = modelFromSpec(plainSpec, 3);
    expect(specOf(model)).toEqual(plainSpec);
    expect(specOf(model)).not.toBe(plainSpec);
  });

  it('a module built in code whose class has no toSpec names itself and the fix', () => {
    class Unwritten extends Shift {
      override toSpec = Module.prototype.toSpec as never;
    }
    const layer = new Unwritten(1, 'torch-default');
    layer.setPath('1');
    expect(() => layerSpecOf(layer)).toThrow('layer 1 (Shift) has no spec form; give its class a toSpec() and register its type with registerLayer');
  });
});

describe('a spec\'s entries at any depth', () => {
  it('are walked into every field its type declares as layers: sequential\'s "layers" and a registered container\'s own field', () => {
    registerLayer<{ type: 'test-branches'; branches: Array<{ type: string }> }>({
      type: 'test-branches',
      fields: { required: { branches: 'layers' } },
      fromSpec: (_entry, inputShape, context) => new Sequential(...context.layers('branches', inputShape)),
    });
    const layers = [
      { type: 'dropout', p: 0.1 },
      { type: 'sequential', layers: [{ type: 'relu' }, { type: 'test-branches', branches: [{ type: 'dropout', p: 0.2 }] }] },
      { type: 'test-shift', shift: 1, layers: [{ type: 'dropout', p: 0.3 }] },
      { type: 'sequential', layers: 'not a list' },
    ];
    const before = JSON.stringify(layers);
    expect(layerEntries(layers).map((entry) => entry.type)).toEqual(['dropout', 'sequential', 'relu', 'test-branches', 'dropout', 'test-shift', 'sequential']);
    const raised = mapLayerEntries(layers, (entry) => (entry.type === 'dropout' ? { ...entry, p: 0.9 } : entry));
    expect(raised).toEqual([
      { type: 'dropout', p: 0.9 },
      { type: 'sequential', layers: [{ type: 'relu' }, { type: 'test-branches', branches: [{ type: 'dropout', p: 0.9 }] }] },
      { type: 'test-shift', shift: 1, layers: [{ type: 'dropout', p: 0.3 }] },
      { type: 'sequential', layers: 'not a list' },
    ]);
    expect(JSON.stringify(layers)).toBe(before);
  });
});

describe('a declaration with a mistake', () => {
  const fromSpec = (): Module => new Shift(0, '');

  it.each([
    ['not an object', null, 'registerLayer: the declaration must be an object { type, fields, fromSpec }, got null'],
    ['no fromSpec', { type: 'test-no-from-spec', fields: { optional: {} } }, 'registerLayer("test-no-from-spec"): "fromSpec" must be a function (entry, inputShape, context) that returns the layer\'s Module, got undefined'],
    ['a fromSpec that is no function', { type: 'test-string-from-spec', fields: {}, fromSpec: 'new Shift()' }, 'registerLayer("test-string-from-spec"): "fromSpec" must be a function (entry, inputShape, context) that returns the layer\'s Module, got "new Shift()"'],
    ['no fields', { type: 'test-no-fields', fromSpec }, 'registerLayer("test-no-fields"): "fields" must be an object like { required: { out: \'int\' }, optional: { bias: \'boolean\' } } ({} for none), got undefined'],
    ['a misspelled fields group', { type: 'test-misspelled-fields', fields: { optinal: { f: 'int' } }, fromSpec }, 'registerLayer("test-misspelled-fields"): unknown field "optinal" in "fields"; known fields: required, optional'],
    ['a fields group that is a list', { type: 'test-listed-fields', fields: { required: ['f'] }, fromSpec }, 'registerLayer("test-listed-fields"): "fields.required" must be an object of field names and kinds, got an array'],
    ['an unknown field kind', { type: 'test-bad-kind', fields: { optional: { f: 'bogus' } }, fromSpec }, `registerLayer("test-bad-kind"): "fields.optional.f" must be a field kind, one of int, pair, pair0, number, rate, positive, boolean, shape, layers, init, scaling, approximate, got "bogus"`],
    ['a kind every object has', { type: 'test-constructor-kind', fields: { required: { f: 'constructor' } }, fromSpec }, `registerLayer("test-constructor-kind"): "fields.required.f" must be a field kind, one of int, pair, pair0, number, rate, positive, boolean, shape, layers, init, scaling, approximate, got "constructor"`],
  ])('%s: refused when registered, naming the type, and the type stays free', (_, declaration, message) => {
    expect(() => registerLayer(declaration as never)).toThrow(expect.objectContaining({ code: 'E_SPEC', message }));
    const type = (declaration as { type?: string } | null)?.type;
    if (type !== undefined) registerLayer({ type, fields: {}, fromSpec });
  });

  const build = (type: string): (() => unknown) => () => sequentialFromSpec({ input: [3], layers: [{ type: 'relu' }, { type }] });

  it('a fromSpec that throws: one line naming the entry, with the thrown error as its cause', () => {
    const exploded = new Error('factory exploded');
    registerLayer({ type: 'test-throws', fields: {}, fromSpec: () => { throw exploded; } });
    registerLayer({ type: 'test-throws-string', fields: {}, fromSpec: () => { throw 'no factory'; } });
    expect(build('test-throws')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-throws): fromSpec threw: factory exploded', cause: exploded }));
    expect(build('test-throws-string')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-throws-string): fromSpec threw: no factory' }));
  });

  it('a built-in layer that throws is lockstep\'s bug, not a module\'s: its error goes on as it is', () => {
    const bug = new TypeError('a bug in a built-in layer');
    const spy = vi.spyOn(reluLayer, 'fromSpec').mockImplementation(() => {
      throw bug;
    });
    try {
      expect(() => sequentialFromSpec({ input: [3], layers: [{ type: 'relu' }] })).toThrow(bug);
    } finally {
      spy.mockRestore();
    }
  });

  it.each([
    ['a number', 'test-returns-number', 42, '42'],
    ['a plain object', 'test-returns-object', { forward: (x: Tensor) => x }, 'an object'],
    ['nothing', 'test-returns-nothing', undefined, 'undefined'],
  ])('a fromSpec that returns %s: one line naming the entry and what it returned', (_, type, result, shown) => {
    registerLayer({ type, fields: {}, fromSpec: () => result as never });
    expect(build(type)).toThrow(expect.objectContaining({
      code: 'E_SPEC',
      message: `model spec layers[1] (${type}): fromSpec must return a Module (an instance of a class that extends Module from @lockstep/core), got ${shown}`,
    }));
  });
});

describe('a layer type registered while a module file loads', () => {
  const build = (type: string): (() => unknown) => () => sequentialFromSpec({ input: [3], layers: [{ type: 'relu' }, { type }] });
  const explode = (): Module => {
    throw new Error('factory exploded');
  };

  it('has that file named by its fromSpec\'s errors, beside the entry', async () => {
    await registeringFrom('mods/explode.mjs', async () => {
      registerLayer({ type: 'test-file-throws', fields: {}, fromSpec: explode });
      registerLayer({ type: 'test-file-returns-number', fields: {}, fromSpec: () => 42 as never });
    });
    expect(build('test-file-throws')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-file-throws, registered by mods/explode.mjs): fromSpec threw: factory exploded' }));
    expect(build('test-file-returns-number')).toThrow(expect.objectContaining({
      code: 'E_SPEC',
      message: 'model spec layers[1] (test-file-returns-number, registered by mods/explode.mjs): fromSpec must return a Module (an instance of a class that extends Module from @lockstep/core), got 42',
    }));
  });

  it('is put down to the file whose load registered it, and a type registered after the loads to none', async () => {
    await registeringFrom('outer.mjs', async () => {
      await registeringFrom('inner.mjs', async () => registerLayer({ type: 'test-file-inner', fields: {}, fromSpec: explode }));
      registerLayer({ type: 'test-file-outer', fields: {}, fromSpec: explode });
    });
    await expect(registeringFrom('failing.mjs', async () => Promise.reject(new Error('cannot load')))).rejects.toThrow('cannot load');
    registerLayer({ type: 'test-file-none', fields: {}, fromSpec: explode });
    expect(build('test-file-inner')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-file-inner, registered by inner.mjs): fromSpec threw: factory exploded' }));
    expect(build('test-file-outer')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-file-outer, registered by outer.mjs): fromSpec threw: factory exploded' }));
    expect(build('test-file-none')).toThrow(expect.objectContaining({ code: 'E_SPEC', message: 'model spec layers[1] (test-file-none): fromSpec threw: factory exploded' }));
  });
});
