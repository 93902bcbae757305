import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { which } from "./system";

/** A certificate and its key, as PEM files. */
export interface IssuedCert {
  certPath: string;
  keyPath: string;
  /** The certificate, PEM. */
  certPem: string;
  /** The private key, PEM (PKCS#8). */
  keyPem: string;
}

/** A certificate authority of the test's own, made with `openssl` in a directory of the caller's. */
export interface TestCa {
  /** The CA certificate (PEM): what a client trusts, e.g. as `certs.d/<host:port>/ca.crt`. */
  readonly caPath: string;
  readonly caPem: string;
  /**
   * Issues a certificate signed by this CA: a server certificate for `sans` (`IP:127.0.0.1`,
   * `DNS:localhost`), or without sans a plain signing certificate (e.g. for JWTs).
   */
  issue(name: string, options?: { sans?: readonly string[] }): Promise<IssuedCert>;
}

/** Why a test CA cannot be made here, or undefined when it can. */
export function opensslSkipReason(): string | undefined {
  return which("openssl") ? undefined : "no openssl on PATH (Debian: apt-get install openssl)";
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`openssl ${args.join(" ")} exited ${code}: ${err.trim()}`))));
  });
}

// P-256 keys: generated in milliseconds (RSA takes a noticeable share of a test's second), and
// accepted by Go's TLS stack and by libtrust (ES256) alike.
const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Makes a CA (key and self-signed certificate valid two days) in `dir`, which the caller owns
 * and removes. Certificates it issues land in the same directory.
 */
export async function createTestCa(dir: string): Promise<TestCa> {
  const skip = opensslSkipReason();
  if (skip) throw new Error(`createTestCa: ${skip}`);
  const caPath = join(dir, "ca.crt");
  await openssl(
    [
      "req",
      "-x509",
      ...newKey,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=store test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  const caPem = await readFile(caPath, "utf8");
  let serial = 1;
  return {
    caPath,
    caPem,
    async issue(name, options = {}) {
      const ext = [
        "basicConstraints=CA:FALSE",
        ...(options.sans?.length
          ? ["keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth", `subjectAltName=${options.sans.join(",")}`]
          : ["keyUsage=critical,digitalSignature"]),
      ];
      await writeFile(join(dir, `${name}.ext`), `${ext.join("\n")}\n`);
      await openssl(["req", ...newKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
      await openssl(
        [
          "x509",
          "-req",
          "-in",
          `${name}.csr`,
          "-CA",
          "ca.crt",
          "-CAkey",
          "ca.key",
          "-set_serial",
          String(serial++),
          "-days",
          "2",
          "-extfile",
          `${name}.ext`,
          "-out",
          `${name}.crt`,
        ],
        dir,
      );
      const certPath = join(dir, `${name}.crt`);
      const keyPath = join(dir, `${name}.key`);
      return { certPath, keyPath, certPem: await readFile(certPath, "utf8"), keyPem: await readFile(keyPath, "utf8") };
    },
  };
}
