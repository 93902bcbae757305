import { posix } from "node:path";
import { ImageError, ImageErrorCode } from "./errors";

/** A run config being edited (container.Config's JSON field names). */
export type RunConfig = Record<string, unknown>;

/** Splits words as the Dockerfile parser does for ENV/LABEL: quotes group, backslash escapes. */
function words(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && i + 1 < text.length && quote !== "'") {
      current += text[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(current);
      current = "";
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw invalidChange(`unterminated quote in ${JSON.stringify(text)}`);
  if (inWord) out.push(current);
  return out;
}

/** `KEY=VALUE …` pairs, or the legacy `KEY VALUE` form (one pair, the value the rest of the line). */
function pairs(instruction: string, rest: string): [string, string][] {
  const first = /^\s*([^\s=]+)(\s|=|$)/.exec(rest);
  if (!first) throw invalidChange(`${instruction} needs arguments`);
  if (first[2] !== "=") {
    const value = rest.slice(first[0].length).trim();
    if (value === "" && instruction === "ENV") throw invalidChange(`ENV names can not be blank: ENV ${rest}`);
    return [[first[1]!, value]];
  }
  return words(rest).map((w) => {
    const eq = w.indexOf("=");
    if (eq <= 0) throw invalidChange(`${instruction}: syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** The exec form (JSON array of strings) or the shell form wrapped in `/bin/sh -c`. */
function commandLine(rest: string): string[] {
  const trimmed = rest.trim();
  if (trimmed.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed as string[];
    } catch {
      // not JSON: docker falls back to the shell form too
    }
  }
  return ["/bin/sh", "-c", trimmed];
}

/**
 * Applies `--change` Dockerfile instructions to a run config as dockerd's BuildFromConfig does
 * for `docker import` and `docker commit`: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
 * STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
export function applyChanges(config: RunConfig, changes: readonly string[]): RunConfig {
  let cmdSet = false;
  for (const change of changes) {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(change);
    if (!m) continue;
    const instruction = m[1]!.toUpperCase();
    const rest = m[2]!;
    switch (instruction) {
      case "CMD":
        config.Cmd = commandLine(rest);
        cmdSet = true;
        break;
      case "ENTRYPOINT":
        config.Entrypoint = commandLine(rest);
        // A new entrypoint drops the old CMD unless this same set of changes gave one.
        if (!cmdSet) config.Cmd = null;
        break;
      case "ENV": {
        const env = Array.isArray(config.Env) ? [...(config.Env as string[])] : [];
        for (const [k, v] of pairs("ENV", rest)) {
          const at = env.findIndex((e) => e.split("=")[0] === k);
          if (at >= 0) env[at] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        config.Env = env;
        break;
      }
      case "LABEL": {
        const labels = { ...((config.Labels as Record<string, string> | null) ?? {}) };
        for (const [k, v] of pairs("LABEL", rest)) labels[k] = v;
        config.Labels = labels;
        break;
      }
      case "EXPOSE": {
        const ports = { ...((config.ExposedPorts as Record<string, object> | null) ?? {}) };
        for (const p of words(rest)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw invalidChange(`invalid containerPort: ${p}`);
          ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        config.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const volumes = { ...((config.Volumes as Record<string, object> | null) ?? {}) };
        const trimmed = rest.trim();
        const list = trimmed.startsWith("[") ? (JSON.parse(trimmed) as string[]) : words(trimmed);
        for (const v of list) {
          if (v.trim() === "") throw invalidChange("VOLUME specified can not be an empty string");
          volumes[v] = {};
        }
        config.Volumes = volumes;
        break;
      }
      case "USER":
        config.User = rest.trim();
        break;
      case "WORKDIR": {
        const dir = rest.trim();
        config.WorkingDir = posix.join("/", posix.isAbsolute(dir) ? dir : posix.join(String(config.WorkingDir || "/"), dir));
        break;
      }
      case "STOPSIGNAL":
        config.StopSignal = rest.trim();
        break;
      case "ONBUILD":
        config.OnBuild = [...((config.OnBuild as string[] | null) ?? []), rest.trim()];
        break;
      default:
        throw invalidChange(`${m[1]} is not a valid change command`);
    }
  }
  return config;
}

function invalidChange(message: string): ImageError {
  return new ImageError(ImageErrorCode.InvalidChange, message, { details: {} });
}
