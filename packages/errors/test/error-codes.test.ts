import { readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ErrorKind, kindOfCode } from "../src/index";

// Every package's error table, found by path rather than imported by name: this package is the
// leaf every other depends on, so it cannot list them as dependencies, and a new package's table
// is checked without anyone remembering to add it here.
const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const tableFiles = [
  ...readdirSync(join(repo, "packages")).flatMap((pkg) => {
    const src = join(repo, "packages", pkg, "src");
    return existsSync(src)
      ? readdirSync(src)
          .filter((f) => /^(errors|[a-z0-9]+-errors)\.ts$/.test(f))
          .map((f) => join(src, f))
      : [];
  }),
  join(repo, "apps", "cli", "src", "errors.ts"),
  join(repo, "apps", "daemon", "src", "errors.ts"),
];

interface Code {
  table: string;
  key: string;
  code: string;
  kind: ErrorKind;
}

async function allCodes(): Promise<Code[]> {
  const codes: Code[] = [];
  for (const file of tableFiles) {
    const mod = (await import(file)) as Record<string, unknown>;
    for (const [table, value] of Object.entries(mod)) {
      if (!table.endsWith("ErrorCode") || typeof value !== "object" || value === null) continue;
      // Codes whose suffix does not say their kind carry it in the table's `<Name>ErrorKind`.
      const kinds = (mod[table.replace(/ErrorCode$/, "ErrorKind")] ?? {}) as Record<string, ErrorKind>;
      for (const [key, code] of Object.entries(value)) {
        codes.push({ table, key, code: code as string, kind: kinds[code as string] ?? kindOfCode(code as string) });
      }
    }
  }
  return codes;
}

/** Codes allowed to be `internal`, each with the reason it is a bug rather than a condition. */
const internalByDesign: Record<string, string> = {
  ERR_TAR_BODY_EXPIRED: "an entry's body read after the parser moved past it: a caller's bug",
};

describe("every package's error codes", () => {
  it("finds the tables (one per package that throws)", async () => {
    const tables = new Set((await allCodes()).map((c) => c.table));
    for (const t of [
      "DigestErrorCode",
      "BackendErrorCode",
      "LayerErrorCode",
      "ImageErrorCode",
      "ReferenceErrorCode",
      "DistributionErrorCode",
      "GraphDriverErrorCode",
      "TarErrorCode",
      "ArchiveErrorCode",
      "InternalErrorCode",
      "CliErrorCode",
      "S3BackendErrorCode",
      "ServiceErrorCode",
      "MetadataErrorCode",
      "RegistryErrorCode",
      "RegistryServerErrorCode",
      "DaemonErrorCode",
      "SharedTierErrorCode",
    ]) {
      expect(tables, t).toContain(t);
    }
  });

  it("are ERR_<PACKAGE>_<WHAT>, unique across packages, with PascalCase keys", async () => {
    const seen = new Map<string, string>();
    for (const { table, key, code } of await allCodes()) {
      expect(code, `${table}.${key}`).toMatch(/^ERR_[A-Z0-9]+(_[A-Z0-9]+)+$/);
      expect(key, `${table}.${key}`).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      expect(seen.get(code), `${code} is in ${seen.get(code)} and ${table}`).toBeUndefined();
      seen.set(code, table);
    }
  });

  it("each has the kind its name says, and none that names a condition falls to internal", async () => {
    const says: [RegExp, ErrorKind][] = [
      [/_(NOT_FOUND|MISSING|GONE)(_|$)/, "notFound"],
      [/_(CONFLICT|EXISTS|IN_USE|BUSY|LOCKED|AMBIGUOUS|NOT_EMPTY)(_|$)/, "conflict"],
      [/_(MISMATCH|CORRUPT|VERIFICATION_FAILED)(_|$)/, "dataLoss"],
      [/_(INVALID|EMPTY|DUPLICATE|BREAKOUT)(_|$)/, "invalid"],
      [/_UNSUPPORTED(_|$)/, "unsupported"],
      [/_CLOSED$/, "canceled"],
    ];
    const wrong: string[] = [];
    for (const { table, code, kind } of await allCodes()) {
      const expected = says.find(([pattern]) => pattern.test(code))?.[1];
      if (expected !== undefined && kind !== expected) wrong.push(`${table}: ${code} is ${kind}, its name says ${expected}`);
      if (kind === "internal" && !(code in internalByDesign)) wrong.push(`${table}: ${code} falls to internal; name it by its kind or pass { kind }`);
    }
    expect(wrong).toEqual([]);
  });

  it("kinds that the name alone does not give are the ones intended", async () => {
    const byCode = new Map((await allCodes()).map((c) => [c.code, c.kind]));
    expect(byCode.get("ERR_SERVICE_S3_BUCKET")).toBe("invalid"); // a required option left out
    expect(byCode.get("ERR_SERVICE_NO_STORE")).toBe("notFound"); // the root named does not exist
    expect(byCode.get("ERR_INTERNAL_LOCKED")).toBe("conflict");
    expect(byCode.get("ERR_IMAGE_CLOSED")).toBe("canceled");
    expect(byCode.get("ERR_LAYER_INVALID_NAME")).toBe("invalid");
    expect(byCode.get("ERR_GRAPHDRIVER_PERMISSION")).toBe("unavailable");
    expect(byCode.get("ERR_GRAPHDRIVER_NOT_EMPTY")).toBe("conflict");
  });
});
