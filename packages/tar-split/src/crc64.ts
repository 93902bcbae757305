/**
 * CRC-64 with Go's `crc64.ISO` table, the checksum tar-split stores for each file's content.
 *
 * Reflected polynomial 0xD800000000000000, initial value and final xor all ones (Go's
 * `crc64.Checksum(data, crc64.MakeTable(crc64.ISO))`). The 64-bit state is kept as two uint32
 * halves and the loop is slicing-by-8, so the hot path has no BigInt and no per-bit work.
 */

// 8 tables of 256 entries, each entry split into low and high 32-bit halves.
const TABLE_LO = new Uint32Array(8 * 256);
const TABLE_HI = new Uint32Array(8 * 256);

(() => {
  // Reflected ISO polynomial 0xD800000000000000: only its high half is non-zero.
  const polyHi = 0xd8000000;
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) hi = (hi ^ polyHi) >>> 0;
    }
    TABLE_LO[i] = lo;
    TABLE_HI[i] = hi;
  }
  for (let t = 1; t < 8; t++) {
    for (let i = 0; i < 256; i++) {
      const prevLo = TABLE_LO[(t - 1) * 256 + i]!;
      const prevHi = TABLE_HI[(t - 1) * 256 + i]!;
      const idx = prevLo & 0xff;
      TABLE_LO[t * 256 + i] = (TABLE_LO[idx]! ^ ((prevLo >>> 8) | (prevHi << 24))) >>> 0;
      TABLE_HI[t * 256 + i] = (TABLE_HI[idx]! ^ (prevHi >>> 8)) >>> 0;
    }
  }
})();

/** An incremental CRC-64/ISO (Go's crc64.New(crc64.MakeTable(crc64.ISO))). */
export class Crc64 {
  // The running state, already inverted (Go inverts on entry and exit of every update).
  private lo = 0xffffffff;
  private hi = 0xffffffff;

  update(data: Uint8Array): this {
    let lo = this.lo;
    let hi = this.hi;
    const n = data.length;
    let i = 0;
    const T_LO = TABLE_LO;
    const T_HI = TABLE_HI;
    const end8 = n - 8;
    while (i <= end8) {
      lo ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
      hi ^= data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
      const a0 = 7 * 256 + (lo & 0xff);
      const a1 = 6 * 256 + ((lo >>> 8) & 0xff);
      const a2 = 5 * 256 + ((lo >>> 16) & 0xff);
      const a3 = 4 * 256 + (lo >>> 24);
      const b0 = 3 * 256 + (hi & 0xff);
      const b1 = 2 * 256 + ((hi >>> 8) & 0xff);
      const b2 = 256 + ((hi >>> 16) & 0xff);
      const b3 = hi >>> 24;
      lo = T_LO[a0]! ^ T_LO[a1]! ^ T_LO[a2]! ^ T_LO[a3]! ^ T_LO[b0]! ^ T_LO[b1]! ^ T_LO[b2]! ^ T_LO[b3]!;
      hi = T_HI[a0]! ^ T_HI[a1]! ^ T_HI[a2]! ^ T_HI[a3]! ^ T_HI[b0]! ^ T_HI[b1]! ^ T_HI[b2]! ^ T_HI[b3]!;
      i += 8;
    }
    for (; i < n; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = T_LO[idx]! ^ ((lo >>> 8) | (hi << 24));
      hi = T_HI[idx]! ^ (hi >>> 8);
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The checksum as 8 big-endian bytes (Go's `hash.Sum(nil)`, what tar-split stores). */
  digest(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, ~this.hi >>> 0);
    view.setUint32(4, ~this.lo >>> 0);
    return out;
  }

  /** The checksum as a bigint (for display and tests). */
  value(): bigint {
    return (BigInt(~this.hi >>> 0) << 32n) | BigInt(~this.lo >>> 0);
  }
}

/** CRC-64/ISO of `data` as 8 big-endian bytes. */
export function crc64(data: Uint8Array): Uint8Array {
  return new Crc64().update(data).digest();
}
