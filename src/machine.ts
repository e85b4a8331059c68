// A ready-to-run machine: a VM with its standard devices, and a kernel loaded.
import { Vm, type VmOptions } from './vm/vm.js';
import { Uart16550, COM1 } from './devices/uart16550.js';
import { DebugExit, DEBUG_EXIT_PORT } from './devices/debug-exit.js';
import { loadMultiboot, type LoadedKernel, type MultibootModule } from './loader/multiboot.js';
import { loadLinux, type LoadedLinux } from './loader/linux.js';
import { TrapezeError } from './errors.js';
import { host } from './host/platform.js';

export interface MachineOptions extends VmOptions {
  /** Receives every byte the guest sends to COM1. */
  serial?: (byte: number) => void;
  /** COM1's interrupt line (IRQ 4), when the machine has interrupt controllers. */
  serialIrq?: (level: boolean) => void;
}

export interface Machine {
  vm: Vm;
  uart: Uart16550;
  /** Write the tables a firmware leaves for the OS (MP, ACPI), when the machine has them. */
  firmwareTables?(): void;
}

export function createMachine(options: MachineOptions = {}): Machine {
  const vm = new Vm(options);
  const uart = new Uart16550(COM1, options.serial ?? (() => {}), options.serialIrq, 'com1');
  vm.ports.register(uart, COM1, COM1 + 7);
  vm.ports.register(new DebugExit((code, value) => vm.requestStop({ kind: 'debug-exit', value, code })), DEBUG_EXIT_PORT);
  return { vm, uart };
}

/** Read a kernel image (or another input named by `kind`), with a clear error when it cannot be read. */
export function readImage(path: string, kind = 'a kernel image'): Uint8Array {
  return host().files.read(path, kind);
}

export function bootMultiboot(machine: Machine, path: string, cmdline = '', modules: string[] = []): LoadedKernel {
  return loadMultiboot(machine.vm, readImage(path), path, cmdline, readModules(modules));
}

/**
 * Multiboot modules from `file[,arguments]` specifications. The string the
 * kernel reads beside each module is its file name, then the arguments after a
 * space, as GRUB's `module` line and QEMU's -initrd give it.
 */
export function readModules(specs: string[]): MultibootModule[] {
  return specs.map((spec) => {
    const comma = spec.indexOf(',');
    const path = comma < 0 ? spec : spec.slice(0, comma);
    if (path === '') throw new TrapezeError(`--module "${spec}": no file name before the comma`);
    return { data: readImage(path, 'a module'), cmdline: comma < 0 ? path : `${path} ${spec.slice(comma + 1)}`, what: path };
  });
}

/** Boot a bzImage by the Linux boot protocol, with an optional initrd. */
export function bootLinux(machine: Machine, kernelPath: string, initrdPath: string | undefined, cmdline = ''): LoadedLinux {
  const initrd = initrdPath === undefined ? undefined : { data: readImage(initrdPath, 'an initial ramdisk'), what: initrdPath };
  machine.firmwareTables?.(); // the boot protocol skips the firmware, not what it describes
  return loadLinux(machine.vm, readImage(kernelPath), kernelPath, cmdline, initrd);
}
