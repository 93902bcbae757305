import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { RegistryError, RegistryErrorCode } from "../errors";

/** TLS settings for one registry host, as dockerd builds them from its certs directories. */
export interface HostTls {
  /** Trusted CAs: the system's plus every `*.crt` found, or undefined when none was found (Node's defaults). */
  ca?: string[];
  /** The client certificate and key (`*.cert` + `*.key`), when a pair was found. */
  cert?: string;
  key?: string;
}

/**
 * Reads `<dir>/<host[:port]>/` in each of `certsDirs` as dockerd's ReadCertsDirectory does:
 * `*.crt` are CAs added to the system's, `<name>.cert` needs `<name>.key` (and the reverse) as a
 * client certificate. A missing directory is no error; a half pair is, with dockerd's text.
 */
export async function loadHostTls(host: string, certsDirs: readonly string[]): Promise<HostTls> {
  const cas: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const base of certsDirs) {
    // A host name with a path separator would leave the certs directory.
    if (host.includes("/") || host === "." || host === "..") break;
    const dir = join(base, host);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") continue;
      throw certsError(`cannot read certs directory ${dir}: ${(error as Error).message}`, dir, error);
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith(".crt")) {
        cas.push(await readText(path));
      } else if (name.endsWith(".cert")) {
        const keyName = `${name.slice(0, -".cert".length)}.key`;
        if (!names.includes(keyName)) {
          throw certsError(`missing key ${keyName} for client certificate ${name}. CA certificates must use the extension .crt`, dir);
        }
        cert ??= await readText(path);
        key ??= await readText(join(dir, keyName));
      } else if (name.endsWith(".key")) {
        const certName = `${name.slice(0, -".key".length)}.cert`;
        if (!names.includes(certName)) throw certsError(`missing client certificate ${certName} for key ${name}`, dir);
      }
    }
  }
  const tls: HostTls = {};
  if (cas.length > 0) tls.ca = [...rootCertificates, ...cas];
  if (cert !== undefined && key !== undefined) {
    tls.cert = cert;
    tls.key = key;
  }
  return tls;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw certsError(`cannot read ${path}: ${(error as Error).message}`, path, error);
  }
}

function certsError(message: string, path: string, cause?: unknown): RegistryError {
  return new RegistryError(RegistryErrorCode.CertsInvalid, message, { details: { path }, cause });
}
