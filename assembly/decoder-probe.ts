// Decoder probe: decode one instruction from bytes the host wrote into a
// scratch buffer, outside any guest. The decoder-agreement test compares what
// it returns with an independent decoder (iced-x86).
import { decode, setFetch, R_OP, R_LEN, Op } from "./cpu/decode";

const INPUT = memory.data(16);   // the bytes to decode; the host writes 15
const RECORD = memory.data(32);  // the decoded record (RECORD_SIZE)

// Where the host writes the bytes.
export function decoderProbeInput(): u32 { return <u32>INPUT; }

// Decode the 15 bytes at decoderProbeInput() as 32-bit (big != 0) or 16-bit
// code. Returns the handler id << 8 | the length; an instruction the 15 bytes
// cannot hold comes back as Op.TooLong, as the run loop treats it (#GP(0)).
export function decoderProbe(big: u32): u32 {
  setFetch(<u32>INPUT, 0, 0, 15);
  if (!decode(<u32>RECORD, big != 0)) return (<u32>Op.TooLong << 8) | 15;
  return (<u32>load<u16>(<u32>RECORD + R_OP) << 8) | load<u8>(<u32>RECORD + R_LEN);
}
