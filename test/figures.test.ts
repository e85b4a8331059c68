// The published figures have one source: docs/figures.json, from one run of
// `npm run figures`. docs/figures.md and the README's figures block must be
// what that file renders to (regenerate with `npm run figures`).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderFiguresPage, renderReadmeFigures, withReadmeFigures, README_BEGIN, README_END, type Figures } from '../src/bench/figures.js';

const figures = JSON.parse(readFileSync('docs/figures.json', 'utf8')) as Figures;

describe('figures', () => {
  it('docs/figures.md is rendered from docs/figures.json, with the machine named', () => {
    expect(readFileSync('docs/figures.md', 'utf8')).toBe(renderFiguresPage(figures));
    expect(figures.machine.cores).toBeGreaterThan(0);
    expect(renderFiguresPage(figures)).toContain(`Machine: ${figures.machine.cpu} (${figures.machine.cores} cores`);
  });

  it('the README\'s figures block is rendered from the same file', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(withReadmeFigures(readme, renderReadmeFigures(figures))).toBe(readme);
    const block = readme.slice(readme.indexOf(README_BEGIN), readme.indexOf(README_END));
    expect(block).toContain(`${figures.bench.compute.checksum}`);
  });

  it('no figure elsewhere in the docs contradicts it: the docs point to figures.md', () => {
    for (const f of ['docs/mmu.md', 'docs/hypervisor.md']) expect(readFileSync(f, 'utf8')).toContain('[figures.md](figures.md)');
  });
});
