'use strict';
// The pool's entry point, in CommonJS. piscina loads its `filename` with require() first; under
// Node 20.19+ that loads an ES module graph through require(esm), which can race an import() of the
// same graph on the thread and abort the process ("v8::Module::IsGraphAsync must be used on an
// instantiated module", nodejs/node#55782). This file requires nothing, and the worker, an ES
// module, is loaded only by import(), once per thread, with its first task.
let worker;

module.exports = function run(task) {
  worker ??= import('./dist/worker.js');
  return worker.then((module) => module.default(task));
};
