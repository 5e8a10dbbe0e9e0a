/**
 * Per-device memory ledger: what the runtime placed where, at peak, and what moved between devices.
 *
 * @module
 */

/** Usage of one device. */
export interface DeviceUsage {
  /** Bytes of live tensors placed on the device now. */
  bytes: number;
  /** Highest `bytes` seen since creation or the last {@link Ledger.reset}. */
  peak: number;
  /** Number of live tensors placed on the device now. */
  tensors: number;
}

/** Plain-object copy of a ledger, safe to serialise. */
export interface LedgerSnapshot {
  /** Usage per device string (`'cpu'`, `'cuda:0'`, `'meta'`, …). */
  devices: Record<string, DeviceUsage>;
  /** Number of copies between devices (`to()` that changed device). */
  copies: number;
  /** Bytes copied between devices. */
  bytesMoved: number;
  /** Bytes placed on any device, copies included. */
  bytesPlaced: number;
}

/**
 * Counts bytes and tensors per device. The runtime calls {@link Ledger.place}, {@link Ledger.release} and
 * {@link Ledger.move}; readers call {@link Ledger.snapshot}.
 */
export class Ledger {
  #devices = new Map<string, DeviceUsage>();
  #copies = 0;
  #bytesMoved = 0;
  #bytesPlaced = 0;
  #epoch = 0;

  /**
   * Increases on every {@link Ledger.reset}; a tensor placed in an earlier epoch is not released from
   * counters that no longer include it.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** Records a tensor of `bytes` bytes placed on `deviceKey`. */
  place(deviceKey: string, bytes: number): void {
    const u = this.#usage(deviceKey);
    u.bytes += bytes;
    u.tensors += 1;
    if (u.bytes > u.peak) u.peak = u.bytes;
    this.#bytesPlaced += bytes;
  }

  /** Records that a tensor of `bytes` bytes on `deviceKey` was disposed. */
  release(deviceKey: string, bytes: number): void {
    const u = this.#usage(deviceKey);
    u.bytes -= bytes;
    u.tensors -= 1;
  }

  /**
   * Records a copy of `bytes` bytes between two devices (the placement on the target is recorded by
   * {@link Ledger.place}).
   */
  move(bytes: number): void {
    this.#copies += 1;
    this.#bytesMoved += bytes;
  }

  /** Current usage of one device (zeros when nothing was ever placed there). */
  usage(deviceKey: string): DeviceUsage {
    const u = this.#devices.get(deviceKey);
    return u === undefined ? { bytes: 0, peak: 0, tensors: 0 } : { ...u };
  }

  /** A plain-object copy of every counter. */
  snapshot(): LedgerSnapshot {
    const devices: Record<string, DeviceUsage> = {};
    for (const [key, u] of this.#devices) devices[key] = { ...u };
    return { devices, copies: this.#copies, bytesMoved: this.#bytesMoved, bytesPlaced: this.#bytesPlaced };
  }

  /** Sets every counter to zero and forgets peaks; live tensors placed earlier are no longer counted. */
  reset(): void {
    this.#devices.clear();
    this.#copies = 0;
    this.#bytesMoved = 0;
    this.#bytesPlaced = 0;
    this.#epoch += 1;
  }

  #usage(deviceKey: string): DeviceUsage {
    let u = this.#devices.get(deviceKey);
    if (u === undefined) {
      u = { bytes: 0, peak: 0, tensors: 0 };
      this.#devices.set(deviceKey, u);
    }
    return u;
  }
}
