import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDaemon, startTestDaemon } from "./helpers";

describe.skipIf(process.getuid?.() !== 0)("hostile requests get a clear 4xx or a timeout, nothing is stored, others are still served", () => {
  let d: TestDaemon;

  beforeAll(async () => {
    d = await startTestDaemon({}, 500);
  });
  afterAll(async () => d?.stop());

  const stillServes = async () => {
    expect((await d.request("GET", "/_ping")).text).toBe("OK");
    expect((await d.request("GET", "/images/json?all=1")).json()).toEqual([]);
  };

  it("names that are not references, path traversal and bad escapes: 400", async () => {
    // `%2E%2E` is a dot segment to the URL parser: `/images/%2E%2E/get` is `/get`, no route (404).
    for (const path of ["/images/..%2F..%2Fetc%2Fpasswd/json", "/images/a%00b/history", "/images/%2E%2E/get", "/images/a%ZZ/json", "/images/UPPER/json"]) {
      const r = await d.request("GET", path);
      expect([400, 404], path).toContain(r.status);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(typeof r.json<{ message: string }>().message).toBe("string");
    }
    const blank = await d.request("DELETE", "/images/%20");
    expect([blank.status, blank.json()]).toEqual([400, { message: "image name cannot be blank" }]);
    await stillServes();
  });

  it("huge headers and bodies", async () => {
    const huge = await d.request("GET", "/images/json", { headers: { "X-Junk": "x".repeat(200_000) } }).catch((e: Error) => e);
    expect(huge instanceof Error ? huge.message : String(huge.status)).toMatch(/431|socket hang up|ECONNRESET/);
    const auth = await d.request("POST", "/auth", { body: JSON.stringify({ username: "x".repeat(1_000_000) }) });
    expect([auth.status, auth.json()]).toEqual([400, { message: "request body longer than 65536 bytes" }]);
    const filters = await d.request("GET", `/images/json?filters=${encodeURIComponent(`{"reference":{"${"a".repeat(50_000)}":true}}`)}`);
    expect(filters.status).toBe(200);
    await stillServes();
  });

  it("a slow client that never finishes its body is cut off, and its load leaves nothing", async () => {
    const closed = await new Promise<string>((resolve) => {
      const s = connect(d.socket, () => {
        s.write("POST /images/load HTTP/1.1\r\nHost: docker\r\nContent-Length: 100000\r\n\r\n");
        s.write(Buffer.alloc(512));
      });
      let got = "";
      s.setEncoding("utf8").on("data", (c: string) => (got += c));
      s.on("close", () => resolve(got));
    });
    // Cut off without a complete answer: nothing in it says the load succeeded.
    expect(closed).not.toMatch(/Loaded image/);
    await new Promise((r) => setTimeout(r, 200));
    await stillServes();
  });
});
