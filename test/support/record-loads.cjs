// Preloaded with `node --require` by test/startup.test.ts: prints the file of
// every CommonJS module the process loaded (packages such as benchmark and
// iced-x86 are CommonJS, also when imported from ESM) on stderr as it exits.
process.on('exit', () => process.stderr.write(`loaded: ${Object.keys(require.cache).join(' ')}\n`));
