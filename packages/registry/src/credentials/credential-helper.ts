import { spawn } from "node:child_process";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { AuthConfig } from "./auth-config";

/** docker-credential-helpers' text for a missing entry (credentials.errCredentialsNotFound). */
const notFoundText = "credentials not found in native keychain";
/** The username that marks `Secret` as an identity token (docker/cli's tokenUsername). */
const tokenUsername = "<token>";

/** A `credsStore` / `credHelpers` name: the suffix of a program on PATH, nothing that could name a path. */
function helperProgram(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new RegistryError(RegistryErrorCode.CredentialsInvalid, `invalid credential helper name ${JSON.stringify(name)}`, { details: { helper: name } });
  }
  return `docker-credential-${name}`;
}

function run(name: string, action: "get" | "store" | "erase", input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = helperProgram(name);
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 1 << 16) stderr += d;
    });
    child.once("error", (error) =>
      reject(
        new RegistryError(
          RegistryErrorCode.CredentialsUnavailable,
          `error ${action === "get" ? "getting" : action === "store" ? "storing" : "erasing"} credentials - err: ${error.message}, out: \`\``,
          {
            details: { helper: program },
            cause: error,
          },
        ),
      ),
    );
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => {}); // a helper that exits without reading
    child.stdin.end(input);
  });
}

function helperFailure(name: string, action: string, out: { code: number; stdout: string; stderr: string }): RegistryError {
  const text = (out.stdout.trim() || out.stderr.trim()).slice(0, 500);
  return new RegistryError(RegistryErrorCode.CredentialsUnavailable, `docker-credential-${name} ${action}: exit status ${out.code}: ${text}`, {
    details: { helper: `docker-credential-${name}`, exitCode: out.code },
  });
}

/** `docker-credential-<name> get`: the credentials stored for `serverAddress`, or undefined when it has none. */
export async function helperGet(name: string, serverAddress: string): Promise<AuthConfig | undefined> {
  const out = await run(name, "get", serverAddress);
  if (out.code !== 0) {
    if (out.stdout.includes(notFoundText) || out.stderr.includes(notFoundText)) return undefined;
    throw helperFailure(name, "get", out);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out.stdout) as typeof parsed;
  } catch (cause) {
    throw new RegistryError(RegistryErrorCode.CredentialsInvalid, `docker-credential-${name} get: the answer is not JSON`, { cause });
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (username === "" && secret === "") return undefined;
  if (username === tokenUsername) return { identityToken: secret, serverAddress };
  return { username, password: secret, serverAddress };
}

/** `docker-credential-<name> store`: keeps `auth` for `serverAddress` (an identity token as docker stores it). */
export async function helperStore(name: string, serverAddress: string, auth: AuthConfig): Promise<void> {
  const creds =
    auth.identityToken !== undefined
      ? { ServerURL: serverAddress, Username: tokenUsername, Secret: auth.identityToken }
      : { ServerURL: serverAddress, Username: auth.username ?? "", Secret: auth.password ?? "" };
  const out = await run(name, "store", JSON.stringify(creds));
  if (out.code !== 0) throw helperFailure(name, "store", out);
}

/** `docker-credential-<name> erase`: forgets `serverAddress` (a missing entry is no error). */
export async function helperErase(name: string, serverAddress: string): Promise<void> {
  const out = await run(name, "erase", serverAddress);
  if (out.code !== 0 && !out.stdout.includes(notFoundText) && !out.stderr.includes(notFoundText)) throw helperFailure(name, "erase", out);
}
