// What a disk controller (ATA) sees of a disk: sectors to read and write.
// Backends implement it: quota and rate limits and in-memory images here in
// src/storage/, raw files and copy-on-write overlays in the Node host
// (src/host/node/); device models use only this interface.

export const SECTOR_SIZE = 512;

export type BlockStatus =
  | { ok: true }
  /** The request failed; the controller reports an I/O error to the guest. */
  | { ok: false; reason: 'quota' | 'read-only' | 'out-of-range' | 'io-error'; message: string };

export interface BlockDevice {
  readonly name: string;
  /** Capacity the guest sees, in sectors. */
  readonly sectors: number;
  readonly readOnly: boolean;
  read(lba: number, count: number, into: Uint8Array): BlockStatus;
  write(lba: number, count: number, data: Uint8Array): BlockStatus;
  /**
   * Milliseconds (of the VM's clock) this request must wait for the device's
   * rate limits; 0 = it may complete now. A throttled request completes later,
   * it is never dropped.
   */
  delayFor(bytes: number, now: number): number;
  close(): void;
}
