import { ImageReferenceError, ReferenceErrorCode } from "./errors";

/**
 * Go's path.Match, which docker's `reference` filter uses: `*` matches any run of characters
 * but `/`, `?` one character but `/`, `[a-z]`/`[^…]` a class, `\` escapes. Throws
 * ERR_REFERENCE_INVALID_PATTERN ("syntax error in pattern") for a malformed pattern, even when the
 * name fails to match before reaching the error, as Go does.
 */
export function globMatch(pattern: string, name: string): boolean {
  return match(Array.from(pattern), Array.from(name), pattern);
}

type Chars = string[];

function bad(pattern: string): ImageReferenceError {
  return new ImageReferenceError(ReferenceErrorCode.InvalidPattern, `syntax error in pattern ${JSON.stringify(pattern)}`, { details: { pattern } });
}

function match(p: Chars, name: Chars, original: string): boolean {
  let pattern = p;
  let n = name;
  outer: while (pattern.length > 0) {
    const [star, chunk, rest] = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !n.includes("/");
    const [t, ok] = matchChunk(chunk, n, original);
    if (ok && (t.length === 0 || pattern.length > 0)) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== "/"; i++) {
        const [t2, ok2] = matchChunk(chunk, n.slice(i + 1), original);
        if (ok2) {
          if (pattern.length === 0 && t2.length > 0) continue;
          n = t2;
          continue outer;
        }
      }
    }
    // Before answering no, check the rest of the pattern is well-formed.
    while (pattern.length > 0) {
      const [, c, r] = scanChunk(pattern);
      pattern = r;
      matchChunk(c, [], original);
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: Chars): [boolean, Chars, Chars] {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === "*") {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case "\\":
        if (i + 1 < p.length) i++;
        break;
      case "[":
        inRange = true;
        break;
      case "]":
        inRange = false;
        break;
      case "*":
        if (!inRange) break scan;
        break;
    }
  }
  return [star, p.slice(0, i), p.slice(i)];
}

function getEsc(chunk: Chars, original: string): [string, Chars] {
  let c = chunk;
  if (c.length === 0 || c[0] === "-" || c[0] === "]") throw bad(original);
  if (c[0] === "\\") {
    c = c.slice(1);
    if (c.length === 0) throw bad(original);
  }
  const r = c[0]!;
  const next = c.slice(1);
  if (next.length === 0) throw bad(original);
  return [r, next];
}

function matchChunk(chunkIn: Chars, sIn: Chars, original: string): [Chars, boolean] {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (chunk[0]) {
      case "[": {
        let r = -1;
        if (!failed) {
          r = s[0]!.codePointAt(0)!;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        let negated = false;
        if (chunk.length > 0 && chunk[0] === "^") {
          negated = true;
          chunk = chunk.slice(1);
        }
        let matched = false;
        let ranges = 0;
        for (;;) {
          if (chunk.length > 0 && chunk[0] === "]" && ranges > 0) {
            chunk = chunk.slice(1);
            break;
          }
          let lo: string;
          [lo, chunk] = getEsc(chunk, original);
          let hi = lo;
          if (chunk[0] === "-") [hi, chunk] = getEsc(chunk.slice(1), original);
          const l = lo.codePointAt(0)!;
          const h = hi.codePointAt(0)!;
          if (l <= r && r <= h) matched = true;
          ranges++;
        }
        if (matched === negated) failed = true;
        break;
      }
      case "?":
        if (!failed) {
          if (s[0] === "/") failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        break;
      default: {
        if (chunk[0] === "\\") {
          // An escaped character matches itself.
          chunk = chunk.slice(1);
          if (chunk.length === 0) throw bad(original);
        }
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
      }
    }
  }
  return failed ? [[], false] : [s, true];
}
