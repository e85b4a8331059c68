// Preloaded with `node --require` by test/startup.test.ts: prints every
// CommonJS module the process loaded (packages such as benchmark and iced-x86
// are CommonJS, also when imported from ESM) on stderr as it exits.
const Module = require('node:module');
const load = Module._load;
const seen = new Set();
Module._load = function (request, ...rest) {
  seen.add(request);
  return load.call(this, request, ...rest);
};
process.on('exit', () => process.stderr.write(`loaded: ${[...seen].join(' ')}\n`));
