#!/usr/bin/env node
// `npm run bench:peers`: Trapeze beside its previous core, v86 and QEMU TCG on
// the same guests, in one run (src/bench/peers/peers.ts).
import '../dist/host/node/index.js';
import { main } from '../dist/bench/peers/peers.js';

await main(process.argv.slice(2));
