'use strict';
// The pool's entry point, in CommonJS. piscina loads its `filename` with require() first; under
// Node 20.19+ that loads an ES module graph through require(esm), which can race with an import()
// of the same graph on the thread and abort the process ("v8::Module::IsGraphAsync must be used on
// an instantiated module", nodejs/node#55782). This file requires nothing but itself, and the
// worker, an ES module, is loaded only by import(), once per thread.
const worker = import('./dist/worker.js');

module.exports = async function run(task) {
  return (await worker).default(task);
};
