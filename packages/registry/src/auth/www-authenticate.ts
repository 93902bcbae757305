/** One challenge of a `WWW-Authenticate` header: its scheme (lower-cased) and parameters (keys lower-cased). */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` values (RFC 9110 §11.6.1): several challenges per header and several
 * headers, parameters as tokens or quoted strings (which may hold commas, as scopes do), keys
 * lower-cased. Bearer challenges come before Basic ones (containerd's order), otherwise as sent.
 */
export function parseWwwAuthenticate(headers: string | readonly string[] | undefined): AuthChallenge[] {
  const values = headers === undefined ? [] : typeof headers === "string" ? [headers] : headers;
  const challenges: AuthChallenge[] = [];
  for (const value of values) challenges.push(...parseOne(value));
  const rank = (c: AuthChallenge) => (c.scheme === "bearer" ? 0 : c.scheme === "basic" ? 1 : 2);
  return challenges
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function parseOne(text: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < text.length && chars.includes(text[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && tokenChar.test(text[i] as string)) i++;
    return text.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < text.length) {
    skip(" \t,");
    const start = i;
    const name = token();
    if (name === "") {
      i++; // an unexpected character: skip it rather than loop
      continue;
    }
    skip(" \t");
    if (text[i] === "=" && current !== undefined && text[i + 1] !== "=") {
      i++;
      skip(" \t");
      let value: string;
      if (text[i] === '"') {
        i++;
        value = "";
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < text.length) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else if (text[i] === "=" && current !== undefined) {
      // token68 (base64 with padding): not used by registries; skip it.
      skip("=");
    } else {
      i = start + name.length;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}
