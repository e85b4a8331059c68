// A random but plausible guest for the robustness fuzzer: RAM full of random
// code, and a CPU state in real mode, 16/32-bit protected mode (random GDT,
// LDT, IDT and TSS, optionally paging) or virtual-8086 mode. Descriptors are
// mostly well-formed so that execution gets deep into the protected-mode
// paths; some are garbage so that every check is reached too.
import type { Vm } from '../vm/vm.js';
import { randomCode } from './random-code.js';

export type GuestMode = 'real' | 'protected' | 'paged' | 'v86';
export const GUEST_MODES: readonly GuestMode[] = ['real', 'protected', 'paged', 'v86'];

type Rnd = () => number;

// Where the tables go (guest-physical); code fills everything else.
const GDT = 0x1000, GDT_ENTRIES = 64;
const LDT = 0x1400, LDT_ENTRIES = 16;
const IDT = 0x2000;
const TSS = 0x3000; // two 32-bit TSSs and a 16-bit one, 0x100 apart, then an I/O bitmap
const PAGE_DIR = 0x5000, PAGE_TABLE = 0x6000;

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[rnd() % xs.length];
const chance = (rnd: Rnd, percent: number): boolean => rnd() % 100 < percent;

/** 64 KiB of random code, to fill guests' RAM from, page by page. */
export function codePool(rnd: Rnd): Uint8Array {
  const pool = new Uint8Array(0x10000);
  for (let at = 0; at + 15 <= pool.length; at += 15) {
    const s = pool.subarray(at, at + 15);
    randomCode(rnd, s);
    // code is rarely a wall of noise: cut the string after its instruction
    if (chance(rnd, 50)) s.fill(chance(rnd, 80) ? 0x90 : 0, 5 + (rnd() % 10));
  }
  return pool;
}

/** Fill RAM with pages of `pool` and set up vCPU 0 of `vm` in `mode`. */
export function randomGuest(vm: Vm, rnd: Rnd, mode: GuestMode, pool: Uint8Array): void {
  const ram = vm.ramBytes;
  const bytes = new Uint8Array(ram);
  for (let at = 0; at < ram; at += 0x1000) {
    const from = rnd() % (pool.length - 0x1000);
    bytes.set(pool.subarray(from, from + 0x1000), at);
  }
  const cpu = vm.vcpus[0];
  for (let r = 0; r < 8; r++) cpu.setGpr(r, randomValue(rnd, ram));
  if (mode === 'real') {
    realModeIvt(bytes, rnd, ram);
    vm.writePhys(0, bytes);
    for (const s of ['es', 'ss', 'ds', 'fs', 'gs'] as const) {
      const sel = rnd() % (ram >>> 4);
      cpu.setSegment(s, { selector: sel, base: sel << 4, limit: 0xffff, attr: 0x93 });
    }
    const cs = rnd() % (ram >>> 4) & 0xff00;
    cpu.setSegment('cs', { selector: cs, base: cs << 4, limit: 0xffff, attr: 0x9b });
    cpu.eip = rnd() & 0xffff;
    cpu.eflags = 0x2 | (rnd() & 0x0cd5) | (chance(rnd, 10) ? 0x100 : 0); // arithmetic, IF, DF, OF; TF at times
    return;
  }

  const tables = new DescriptorTables(rnd, ram);
  tables.write(bytes);
  const paged = mode === 'paged' || (mode === 'v86' && chance(rnd, 30));
  if (paged) pageTables(bytes, rnd, ram);
  vm.writePhys(0, bytes);

  const cr4 = (chance(rnd, 60) ? 0x10 : 0) | (chance(rnd, 30) ? 0x80 : 0) | (chance(rnd, 20) ? 0x8 : 0); // PSE, PGE, DE
  let cr0 = 0x11 | (rnd() & 0x2e) | (chance(rnd, 50) ? 0x10000 : 0) | (chance(rnd, 10) ? 0x40000 : 0); // MP EM TS NE, WP, AM
  if (paged) cr0 |= 0x80000000;
  cpu.set('cr0', cr0);
  cpu.set('cr4', cr4);
  cpu.set('cr3', PAGE_DIR | (rnd() & 0x18));
  cpu.set('gdtrBase', GDT);
  cpu.set('gdtrLimit', chance(rnd, 90) ? GDT_ENTRIES * 8 - 1 : rnd() & 0x3ff);
  cpu.set('idtrBase', IDT);
  cpu.set('idtrLimit', chance(rnd, 90) ? 0x7ff : rnd() & 0x7ff);
  cpu.setSegment('ldtr', { selector: tables.ldtSelector, base: LDT, limit: LDT_ENTRIES * 8 - 1, attr: 0x82 });
  cpu.setSegment('tr', { selector: tables.tssSelector, base: TSS, limit: 0x2067, attr: 0x8b });

  if (mode === 'v86') {
    for (const s of ['es', 'ss', 'ds', 'fs', 'gs'] as const) {
      const sel = rnd() % (ram >>> 4);
      cpu.setSegment(s, { selector: sel, base: sel << 4, limit: 0xffff, attr: 0xf3 });
    }
    const cs = rnd() % (ram >>> 4) & 0xff00;
    cpu.eflags = 0x20002 | (rnd() & 0x3cd5); // VM, any IOPL
    cpu.setSegment('cs', { selector: cs, base: cs << 4, limit: 0xffff, attr: 0xfb });
    cpu.eip = rnd() & 0xffff;
    return;
  }
  // CS and SS from the table, at the code segment's privilege level
  const code = tables.entryCode;
  const dpl = code.dpl;
  cpu.setSegment('cs', { selector: code.selector | dpl, base: 0, limit: 0xffffffff, attr: code.attr });
  const data = tables.stackFor(dpl);
  cpu.setSegment('ss', { selector: data.selector | dpl, base: 0, limit: 0xffffffff, attr: data.attr });
  for (const s of ['es', 'ds', 'fs', 'gs'] as const) {
    const d = chance(rnd, 80) ? tables.stackFor(dpl) : undefined;
    cpu.setSegment(s, d ? { selector: d.selector | dpl, base: 0, limit: 0xffffffff, attr: d.attr } : { selector: 0, base: 0, limit: 0, attr: 0 });
  }
  cpu.eip = rnd() % ram;
  cpu.setGpr(4, 0x1000 + (rnd() % (ram - 0x1000)));
  cpu.eflags = 0x2 | (rnd() & 0x3cd5) | (chance(rnd, 10) ? 0x100 : 0); // any IOPL, IF, TF at times
}

/** A value a register might hold: small, an address in RAM, or anything. */
function randomValue(rnd: Rnd, ram: number): number {
  const k = rnd() % 100;
  if (k < 40) return rnd() & 0xff;
  if (k < 75) return rnd() % ram;
  return rnd();
}

/** Interrupt vectors: mostly into RAM, some anywhere (the ROM area is MMIO here). */
function realModeIvt(bytes: Uint8Array, rnd: Rnd, ram: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let v = 0; v < 256; v++) {
    const seg = chance(rnd, 90) ? rnd() % (ram >>> 4) & 0xfff0 : rnd() & 0xffff;
    view.setUint16(v * 4, rnd() & 0xffff, true);
    view.setUint16(v * 4 + 2, seg, true);
  }
}

interface Segment { selector: number; attr: number; dpl: number }

/** GDT, LDT, IDT and TSSs with random, mostly plausible entries. */
class DescriptorTables {
  private readonly gdt = new Uint32Array(GDT_ENTRIES * 2);
  private readonly ldt = new Uint32Array(LDT_ENTRIES * 2);
  private readonly idt = new Uint32Array(512);
  private readonly codes: Segment[] = [];
  private readonly datas: Segment[] = [];
  readonly tssSelector: number;
  readonly ldtSelector: number;
  readonly entryCode: Segment;

  constructor(private readonly rnd: Rnd, private readonly ram: number) {
    // fixed slots so that the rest can refer to them: 1 flat ring-0 code,
    // 2 flat ring-0 data, 3-4 TSS32, 5 LDT, 6 TSS16, then one flat code and
    // data segment per ring, then random entries
    this.setSeg(this.gdt, 1, 0, 0xfffff, 0x9b, 0xc);
    this.setSeg(this.gdt, 2, 0, 0xfffff, 0x93, 0xc);
    this.setSystem(3, TSS, 0x2067, 0x89);
    this.setSystem(4, TSS + 0x100, 0x67 + (rnd() % 0x80), 0x89);
    this.setSystem(5, LDT, LDT_ENTRIES * 8 - 1, 0x82);
    this.setSystem(6, TSS + 0x200, 0x2b + (rnd() % 0x20), 0x81);
    for (let ring = 0; ring < 4; ring++) {
      this.setSeg(this.gdt, 7 + ring * 2, 0, 0xfffff, 0x9a | (ring << 5) | (rnd() & 5), chance(rnd, 80) ? 0xc : 0x8);
      this.setSeg(this.gdt, 8 + ring * 2, 0, 0xfffff, 0x92 | (ring << 5) | (rnd() & 1), 0xc);
    }
    for (let i = 15; i < GDT_ENTRIES; i++) this.randomEntry(this.gdt, i, true);
    for (let i = 0; i < LDT_ENTRIES; i++) this.randomEntry(this.ldt, i, false);
    for (let v = 0; v < 256; v++) this.randomGate(this.idt, v, true);
    this.tssSelector = 3 << 3;
    this.ldtSelector = 5 << 3;
    const entry = (7 + pick(rnd, [0, 0, 3, 3, 1, 2]) * 2) << 3;
    this.entryCode = this.codes.find((c) => c.selector === entry)!;
  }

  /** A writable data segment of privilege `dpl`. */
  stackFor(dpl: number): Segment {
    return this.datas.find((d) => d.dpl === dpl && d.attr & 2 && !(d.attr & 4))!;
  }

  write(bytes: Uint8Array): void {
    bytes.set(new Uint8Array(this.gdt.buffer), GDT);
    bytes.set(new Uint8Array(this.ldt.buffer), LDT);
    bytes.set(new Uint8Array(this.idt.buffer), IDT);
    this.writeTss32(bytes, TSS);
    this.writeTss32(bytes, TSS + 0x100);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (let i = 0; i < 0x2c; i += 2) view.setUint16(TSS + 0x200 + i, this.tssWord(i), true);
    // the I/O permission bitmap of the first TSS: random, some ports allowed
    for (let i = 0x68; i < 0x2068; i++) bytes[TSS + i] = chance(this.rnd, 50) ? 0 : this.rnd() & 0xff;
  }

  private writeTss32(bytes: Uint8Array, at: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const rnd = this.rnd;
    for (let i = 0; i < 0x68; i += 4) view.setUint32(at + i, rnd(), true);
    for (let ring = 0; ring < 3; ring++) {
      const ss = this.stackFor(ring);
      view.setUint32(at + 4 + ring * 8, 0x1000 + (rnd() % (this.ram - 0x1000)), true); // ESPn
      view.setUint32(at + 8 + ring * 8, chance(rnd, 90) ? ss.selector | ring : rnd() & 0xffff, true); // SSn
    }
    view.setUint32(at + 0x1c, PAGE_DIR, true);                        // CR3
    view.setUint32(at + 0x20, rnd() % this.ram, true);                // EIP
    view.setUint32(at + 0x24, 0x2 | (rnd() & (chance(rnd, 10) ? 0x23fd5 : 0x3fd5)), true); // EFLAGS, VM at times
    const code = pick(rnd, this.codes);
    view.setUint32(at + 0x4c, code.selector | code.dpl, true);        // CS
    for (const off of [0x48, 0x50, 0x54, 0x58, 0x5c]) {              // ES SS DS FS GS
      const d = this.stackFor(code.dpl);
      view.setUint32(at + off, chance(rnd, 90) ? d.selector | code.dpl : rnd() & 0xffff, true);
    }
    view.setUint32(at + 0x60, chance(rnd, 90) ? 5 << 3 : rnd() & 0xffff, true); // LDT
    view.setUint16(at + 0x64, rnd() & 1, true);                       // T
    view.setUint16(at + 0x66, chance(rnd, 80) ? 0x68 : rnd() & 0xffff, true); // I/O map base
  }

  private tssWord(i: number): number {
    const rnd = this.rnd;
    if (i === 2 || i === 6 || i === 10) return 0x1000 + (rnd() % 0xe000); // SPn
    if (i === 4 || i === 8 || i === 12) return this.stackFor(Math.min(2, (i - 4) / 4)).selector;
    return rnd() & 0xffff;
  }

  private setSeg(table: Uint32Array, i: number, base: number, limit: number, access: number, flags: number): void {
    table[i * 2] = ((base & 0xffff) << 16) | (limit & 0xffff);
    table[i * 2 + 1] = (base & 0xff000000) | (flags << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff);
    if (table !== this.gdt || !(access & 0x10) || !(access & 0x80)) return;
    const seg = { selector: i << 3, attr: access | (flags << 12), dpl: (access >> 5) & 3 };
    (access & 8 ? this.codes : this.datas).push(seg);
  }

  private setSystem(i: number, base: number, limit: number, access: number): void {
    this.setSeg(this.gdt, i, base, limit, access, 0);
  }

  private randomEntry(table: Uint32Array, i: number, gdt: boolean): void {
    const rnd = this.rnd;
    const k = rnd() % 100;
    const present = chance(rnd, 92) ? 0x80 : 0;
    const dpl = pick(rnd, [0, 0, 3, 3, 1, 2]) << 5;
    if (k < 55) {
      // code or data: mostly flat, some with a base in RAM and a small limit, some anything
      const shape = rnd() % 10;
      const base = shape < 6 ? 0 : shape < 9 ? (rnd() % this.ram) & ~0xfff : rnd();
      const limit = shape < 6 ? 0xfffff : rnd() & 0xfffff;
      const flags = (chance(rnd, 70) ? 0x4 : 0) | (chance(rnd, 60) ? 0x8 : 0) | (rnd() & 1);
      this.setSeg(table, i, base, limit, 0x10 | present | dpl | (rnd() & 0xf), flags);
    } else if (k < 80) {
      // call gate (32- or 16-bit), task gate
      const type = pick(rnd, [0xc, 0xc, 0xc, 0x4, 0x5]);
      const target = type === 0x5 ? pick(rnd, [3, 4, 6]) << 3 : pick(rnd, this.codes.length ? this.codes : [{ selector: 8, attr: 0, dpl: 0 }]).selector;
      this.gate(table, i, target | (rnd() & 3), rnd() % this.ram, present | dpl | type, chance(rnd, 70) ? 0 : rnd() & 31);
    } else if (k < 90 && gdt) {
      // more TSS/LDT descriptors, available or busy
      const type = pick(rnd, [0x9, 0xb, 0x1, 0x3, 0x2]);
      this.setSeg(table, i, TSS + pick(rnd, [0, 0x100, 0x200]), pick(rnd, [0x67, 0x2b, 0x2067, rnd() & 0xfff]), present | dpl | type, 0);
    } else {
      table[i * 2] = this.rnd();
      table[i * 2 + 1] = this.rnd();
    }
  }

  private randomGate(table: Uint32Array, v: number, idt: boolean): void {
    const rnd = this.rnd;
    const k = rnd() % 100;
    if (k >= 95 && idt) { table[v * 2] = rnd(); table[v * 2 + 1] = rnd(); return; }
    const type = k < 45 ? 0xe : k < 75 ? 0xf : k < 85 ? pick(rnd, [0x6, 0x7]) : 0x5;
    const present = chance(rnd, 95) ? 0x80 : 0;
    const dpl = pick(rnd, [0, 3, 3, 1]) << 5;
    // mostly the flat ring-0 code, which every CPL (and V86) may enter: deep
    // handlers rather than a double fault at every first exception
    const code = chance(rnd, 75) ? this.codes.find((c) => c.selector === 7 << 3)! : pick(rnd, this.codes);
    const sel = type === 0x5 ? pick(rnd, [3, 4, 6]) << 3 : code.selector;
    this.gate(table, v, sel | (chance(rnd, 90) ? 0 : rnd() & 3), rnd() % this.ram, present | dpl | type, 0);
  }

  private gate(table: Uint32Array, i: number, selector: number, offset: number, access: number, params: number): void {
    table[i * 2] = ((selector & 0xffff) << 16) | (offset & 0xffff);
    table[i * 2 + 1] = (offset & 0xffff0000) | (access << 8) | params;
  }
}

/** A page directory: the first 4 MiB mostly identity-mapped through a page
 * table (or one 4 MiB page), with random flags and some frames outside RAM. */
function pageTables(bytes: Uint8Array, rnd: Rnd, ram: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const flags = (): number => (chance(rnd, 97) ? 1 : 0) | (chance(rnd, 85) ? 2 : 0) | (chance(rnd, 75) ? 4 : 0) | (rnd() & 0x178);
  for (let i = 0; i < 1024; i++) {
    let pde = 0;
    if (i === 0) pde = chance(rnd, 20) ? 0x80 | flags() : PAGE_TABLE | flags();
    else if (chance(rnd, 10)) pde = (rnd() & 0xfffff000) | flags();
    view.setUint32(PAGE_DIR + i * 4, pde >>> 0, true);
  }
  for (let i = 0; i < 1024; i++) {
    const frame = chance(rnd, 95) ? i << 12 : chance(rnd, 50) ? rnd() % ram : rnd();
    view.setUint32(PAGE_TABLE + i * 4, ((frame & 0xfffff000) | flags()) >>> 0, true);
  }
  // the descriptor tables, TSSs and page tables stay reachable (identity,
  // present, writable), or nearly every guest would die at its first fault
  for (let at = GDT; at <= PAGE_TABLE; at += 0x1000) view.setUint32(PAGE_TABLE + (at >>> 12) * 4, at | 3, true);
}
