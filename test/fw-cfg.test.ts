// QEMU's fw_cfg PIO interface: the device on its own, and a guest on the PC
// that reads the signature, the CPU count and the file directory with
// OUT to the selector and REP INSB from the data port.
import { describe, it, expect } from 'vitest';
import { FwCfg, FwCfgKey, FW_CFG_PORT, FW_CFG_DATA } from '../src/devices/fw-cfg.js';
import { Pc } from '../src/platform/pc.js';
import { kludgeImage, tempFile } from './support/image.js';
import { parseFwCfgFile } from '../src/commands/run-pc.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function item(dev: FwCfg, key: number, n: number): number[] {
  dev.write(FW_CFG_PORT, 2, key);
  return Array.from({ length: n }, () => dev.read(FW_CFG_DATA, 1));
}
const u = (bytes: number[]) => bytes.reduce((v, b, i) => v + b * 2 ** (8 * i), 0);

describe('fw_cfg device', () => {
  const dev = new FwCfg({ ramBytes: 256 << 20, cpus: 3 });

  it('answers the signature, the ID (traditional interface, no DMA), RAM size and CPU counts', () => {
    expect(String.fromCharCode(...item(dev, FwCfgKey.signature, 4))).toBe('QEMU');
    expect(u(item(dev, FwCfgKey.id, 4))).toBe(1);
    expect(u(item(dev, FwCfgKey.ramSize, 8))).toBe(256 << 20);
    expect(u(item(dev, FwCfgKey.nbCpus, 2))).toBe(3);
    expect(u(item(dev, FwCfgKey.maxCpus, 2))).toBe(3);
  });

  it('rewinds on each select, reads 0 past the end and for unknown keys, and ignores data writes', () => {
    expect(item(dev, FwCfgKey.signature, 6)).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
    expect(item(dev, FwCfgKey.signature, 1)).toEqual([0x51]);
    dev.write(FW_CFG_DATA, 1, 0x99);
    expect(dev.read(FW_CFG_DATA, 1)).toBe(0x45);
    expect(item(dev, 0x1234, 4)).toEqual([0, 0, 0, 0]);
    // the write-channel bit (14) selects the same item; a wide read takes consecutive bytes
    dev.write(FW_CFG_PORT, 2, 0x4000 | FwCfgKey.signature);
    expect(dev.read(FW_CFG_DATA, 4)).toBe(0x554d4551);
  });

  it('lists files in a big-endian directory at 0x19, each readable at its key', () => {
    const d = new FwCfg({ ramBytes: 1 << 20, cpus: 1 });
    const key = d.addFile('opt/hello', new TextEncoder().encode('hi there'));
    expect(key).toBe(0x20);
    d.addFile('etc/x', Uint8Array.of(1, 2, 3));
    const dir = item(d, FwCfgKey.fileDir, 4 + 2 * 64);
    const be = (o: number, n: number) => dir.slice(o, o + n).reduce((v, b) => v * 256 + b, 0);
    expect(be(0, 4)).toBe(2);
    expect([be(4, 4), be(8, 2), be(10, 2)]).toEqual([8, 0x20, 0]);
    expect(String.fromCharCode(...dir.slice(12, 12 + 9))).toBe('opt/hello');
    expect(dir[12 + 9]).toBe(0);
    expect([be(68, 4), be(72, 2)]).toEqual([3, 0x21]);
    expect(String.fromCharCode(...item(d, 0x20, 8))).toBe('hi there');
    expect(() => d.addFile('opt/hello', new Uint8Array(1))).toThrow(/given twice/);
    expect(() => d.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(/1 to 55 bytes/);
  });
});

describe('fw_cfg on the PC', () => {
  it('a guest reads "QEMU", the vCPU count and the directory (etc/e820) through ports 0x510/0x511', () => {
    const OUT = 0x80000;
    const sel = (key: number) => [0x4a, 0x66, 0xb8, key & 0xff, key >> 8, 0x66, 0xef, 0x42]; // dec edx; mov ax,key; out dx,ax; inc edx
    const insb = (n: number) => [0xb9, n & 0xff, n >> 8, 0, 0, 0xf3, 0x6c];                 // mov ecx,n; rep insb
    const code = [
      0xbf, OUT & 0xff, (OUT >> 8) & 0xff, OUT >> 16, 0, // mov edi, OUT
      0xba, 0x11, 0x05, 0, 0,                            // mov edx, 0x511
      ...sel(0x00), ...insb(4),
      ...sel(0x05), ...insb(2),
      ...sel(0x19), ...insb(4 + 64),
      0xf4,                                              // hlt
    ];
    const pc = new Pc({ memoryMiB: 16, vcpus: 2 });
    pc.bootMultiboot(tempFile('fwcfg.elf', kludgeImage(code)));
    const stop = pc.vm.run({ maxInstructions: 100_000 });
    expect(stop.kind).toBe('halted');
    const out = pc.vm.readPhys(OUT, 4 + 2 + 4 + 64);
    expect(String.fromCharCode(...out.subarray(0, 4))).toBe('QEMU');
    expect(out[4] | (out[5] << 8)).toBe(2);
    const dir = new DataView(out.buffer, out.byteOffset + 6);
    expect(dir.getUint32(0)).toBe(1);
    expect(dir.getUint32(4)).toBe(7 * 20); // the PC's memory map: 7 ranges of 20 bytes
    expect(dir.getUint16(8)).toBe(0x20);
    expect(String.fromCharCode(...out.subarray(6 + 12, 6 + 12 + 8))).toBe('etc/e820');
  });
});

describe('trapeze run --fw-cfg', () => {
  const BIN = fileURLToPath(new URL('../bin/trapeze.js', import.meta.url));
  const HELLO = fileURLToPath(new URL('../guest-images/hello.elf', import.meta.url));

  it('takes QEMU\'s -fw_cfg forms: a file or a string under a name', () => {
    const file = tempFile('blob', Uint8Array.of(1, 2, 3));
    const blob = parseFwCfgFile(`name=opt/blob,file=${file}`);
    expect([blob.name, ...blob.data]).toEqual(['opt/blob', 1, 2, 3]);
    expect(parseFwCfgFile('name=opt/s,string=a,b')).toEqual({ name: 'opt/s', data: new TextEncoder().encode('a,b') });
    expect(parseFwCfgFile('opt/s,string=x').name).toBe('opt/s');
    const dev = new FwCfg({ ramBytes: 1 << 20, cpus: 1 });
    const { name, data } = parseFwCfgFile('name=opt/s,string=hello');
    expect(String.fromCharCode(...item(dev, dev.addFile(name, data), 5))).toBe('hello');
  });

  it('refuses a bad item, a missing file and a name given twice in one line with status 2', () => {
    const cases: [string, string][] = [
      ['opt/x', '--fw-cfg "opt/x": expected name=<name>,file=<path> or name=<name>,string=<text>'],
      ['name=opt/x,file=/nonexistent/x', '/nonexistent/x: no such file'],
      ['name=etc/e820,string=x', 'fw_cfg file "etc/e820" is given twice'],
    ];
    for (const [item, message] of cases) {
      const r = spawnSync(process.execPath, [BIN, 'run', HELLO, '--fw-cfg', item], { encoding: 'utf8', input: '' });
      expect(r.stderr).toBe(`trapeze: ${message}\n`);
      expect(r.status).toBe(2);
    }
  });
});
