import { describe, expect, it } from "vitest";
import { RegistryErrorCode, registryHost } from "../src/index";
import { InsecureRegistries, isLoopbackHost } from "../src/client/registry-host";
import { backoffDelay, parseRetryAfter, resolveRetry } from "../src/client/retry-policy";
import { RegistryError } from "../src/errors";

describe("hosts", () => {
  it("sends docker.io to registry-1.docker.io and other hosts as written", () => {
    expect(registryHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryHost("index.docker.io")).toBe("registry-1.docker.io");
    expect(registryHost("ghcr.io")).toBe("ghcr.io");
    expect(registryHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });

  it("knows loopback hosts", () => {
    for (const h of ["127.0.0.1:5000", "127.9.8.7", "localhost:5000", "[::1]:5000", "::1"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["10.0.0.1:5000", "example.com", "[2001:db8::1]:443", "127.example.com"]) expect(isLoopbackHost(h), h).toBe(false);
  });

  it("matches insecure registries by host[:port] and by CIDR; refuses a malformed entry", () => {
    const insecure = new InsecureRegistries(["myreg.example:5000", "10.0.0.0/8", "fd00::/8", "http://plain.example"]);
    expect(insecure.has("myreg.example:5000")).toBe(true);
    expect(insecure.has("myreg.example:5001")).toBe(false);
    expect(insecure.has("10.1.2.3:5000")).toBe(true);
    expect(insecure.has("11.1.2.3")).toBe(false);
    expect(insecure.has("[fd00::1]:5000")).toBe(true);
    expect(insecure.has("plain.example:8080")).toBe(true);
    expect(() => new InsecureRegistries(["10.0.0.0/99"])).toThrow(RegistryError);
    expect(() => new InsecureRegistries(["name/8"])).toThrow(/invalid insecure registry "name\/8"/);
  });
});

describe("retry policy", () => {
  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("backs off exponentially with jitter, capped", () => {
    const retry = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const first = backoffDelay(1, retry);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      const late = backoffDelay(10, retry);
      expect(late).toBeGreaterThanOrEqual(500);
      expect(late).toBeLessThanOrEqual(1000);
    }
  });

  it("errors are one line whatever the input", () => {
    const error = new RegistryError(RegistryErrorCode.Protocol, `bad\r\nheader\u0007${"x".repeat(5000)}`);
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message.includes("\u0007")).toBe(false);
    expect(error.message).toContain("\\u0007");
    expect(error.message.length).toBeLessThan(1100);
    expect(error.kind).toBe("unavailable");
  });
});
