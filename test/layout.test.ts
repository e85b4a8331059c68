// The contract (contract/schema.mjs) generates both sides' layouts; the probe
// checks that the compiled test core and the host agree on every field's
// address (the build runs the same check: scripts/check-layout.mjs).
import { describe, it, expect } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { layoutMismatches } from '../scripts/check-layout.mjs';
import { Exit, State, EXIT_REASON_NAMES, ExitReason, COUNTER_NAMES, Counter } from '../src/core/layout.js';
import { createCore } from '../src/core/core.js';

describe('core/host layout agreement', () => {
  it('every field the core declares is at the offset the host declares', async () => {
    expect(await layoutMismatches()).toEqual([]);
  });

  it('the generated host view carries the schema\'s records and enums', () => {
    expect(Exit.reason).toBe(0x1000);
    expect(State.cpl).toBe(412);
    expect(EXIT_REASON_NAMES[ExitReason.IrqWindow]).toBe('irq-window');
    expect(COUNTER_NAMES.length).toBe(createCore(1 << 20, 1).exports.counterCount());
    expect(COUNTER_NAMES[Counter.GlobalsKept]).toBe('globalsKept');
  });

  it('the release core carries no self-test exports', () => {
    const core = createCore(1 << 20, 1);
    expect('layoutProbe' in core.exports).toBe(false);
    expect('decoderProbe' in core.exports).toBe(false);
  });
});
