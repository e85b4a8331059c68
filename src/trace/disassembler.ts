// Disassembly for the trace view, by iced-x86 (NASM syntax, 0x hex).
import { Decoder, DecoderOptions, Formatter, FormatterSyntax } from 'iced-x86';

let formatter: Formatter | undefined;

function nasm(): Formatter {
  if (!formatter) {
    formatter = new Formatter(FormatterSyntax.Nasm);
    formatter.hexPrefix = '0x';
    formatter.hexSuffix = '';
    formatter.uppercaseHex = false;
    formatter.spaceAfterOperandSeparator = true;
  }
  return formatter;
}

/** The instruction in `bytes` at address `ip`, as `bitness`-bit code. */
export function disassemble(bytes: Uint8Array, ip: number, bitness: 16 | 32): string {
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  decoder.ip = BigInt(ip >>> 0);
  const insn = decoder.decode();
  const text = insn.isInvalid ? `(bad) ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')}` : nasm().format(insn);
  insn.free();
  decoder.free();
  return text;
}
