import { randomBytes } from "node:crypto";

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Length of overlay2's short link names (`l/<SHORT>`). */
export const SHORT_ID_LENGTH = 26;

/**
 * A short link name as moby's `overlayutils.GenerateID(26)`: base32 (RFC 4648 alphabet) of
 * 17 random bytes, cut to 26 characters. Short names keep the mount options of deep layer
 * chains within a page.
 */
export function generateShortId(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.slice(0, SHORT_ID_LENGTH);
}
