import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { which } from "./system";

// bcrypt's own base64 alphabet (not RFC 4648's).
const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 16 random bytes in bcrypt's base64: the 22-character salt of a `$2b$` hash. */
function bcryptSalt(): string {
  const bytes = randomBytes(16);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    out += BCRYPT_ALPHABET[b0 >> 2]! + BCRYPT_ALPHABET[((b0 & 3) << 4) | (b1 >> 4)]!;
    if (i + 1 < bytes.length) out += BCRYPT_ALPHABET[((b1 & 15) << 2) | (b2 >> 6)]!;
    if (i + 2 < bytes.length) out += BCRYPT_ALPHABET[b2 & 63]!;
  }
  return out;
}

/**
 * One `user:hash` line of an htpasswd file with a bcrypt hash: the only kind distribution's
 * htpasswd auth accepts. Uses apache2-utils' `htpasswd -nbB` when installed; otherwise glibc's
 * crypt(3) (libxcrypt does `$2b$`) through perl, which every Debian system has (perl-base is
 * essential), so neither a new apt package nor an npm dependency is needed. Cost 5: the registry
 * checks the hash on every request, and tests make many.
 */
export function htpasswdLine(user: string, password: string): string {
  if (user.includes(":") || /[\r\n]/.test(user + password))
    throw new Error(`htpasswdLine: user ${JSON.stringify(user)} or its password cannot go in an htpasswd file`);
  if (which("htpasswd")) {
    const r = spawnSync("htpasswd", ["-nbB", "-C", "5", user, password], { encoding: "utf8" });
    if (r.status === 0) return r.stdout.trim();
  }
  const r = spawnSync("perl", ["-e", "print crypt($ARGV[0], $ARGV[1])", password, `$2b$05$${bcryptSalt()}`], { encoding: "utf8" });
  const hash = r.stdout ?? "";
  if (r.status !== 0 || !hash.startsWith("$2b$05$") || hash.length !== 60) {
    throw new Error(`htpasswdLine: neither htpasswd nor perl's crypt() made a bcrypt hash (got ${JSON.stringify(hash)}): ${r.stderr ?? ""}`.trim());
  }
  return `${user}:${hash}`;
}
