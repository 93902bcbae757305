import { describe, expect, it } from "vitest";
import { formatGoTime, nowGoTime, parseGoTime, zeroTime } from "../src/index";

describe("Go time formats (time.RFC3339Nano)", () => {
  it.each([
    ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"],
    ["2024-05-01T10:00:00.000000000Z", "2024-05-01T10:00:00Z"],
    ["2024-05-01T10:00:00.120Z", "2024-05-01T10:00:00.12Z"],
    ["2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123456789Z"],
    ["2024-05-01T10:00:00.1234567891Z", "2024-05-01T10:00:00.123456789Z"],
    ["2024-05-01T10:00:00.5+02:00", "2024-05-01T10:00:00.5+02:00"],
    ["2024-05-01T10:00:00-07:30", "2024-05-01T10:00:00-07:30"],
    ["2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
    ["2000-02-29T23:59:59Z", "2000-02-29T23:59:59Z"],
  ])("%s → %s", (input, output) => {
    expect(formatGoTime(parseGoTime(input)!)).toBe(output);
  });

  it("knows the epoch, Go's zero time and refuses non-RFC 3339", () => {
    expect(parseGoTime("1970-01-01T00:00:00Z")).toEqual({ seconds: 0, nanos: 0, offset: 0 });
    expect(parseGoTime("1970-01-01T01:00:00+01:00")!.seconds).toBe(0);
    expect(formatGoTime(zeroTime)).toBe("0001-01-01T00:00:00Z");
    expect(parseGoTime("0001-01-01T00:00:00Z")).toEqual(zeroTime);
    for (const bad of ["2024-05-01", "2024-05-01 10:00:00Z", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T10:00:00", "x"]) {
      expect(parseGoTime(bad), bad).toBeUndefined();
    }
  });

  it("formats now in the local zone, round-tripping", () => {
    const now = nowGoTime();
    expect(parseGoTime(formatGoTime(now))).toEqual(now);
    expect(Math.abs(now.seconds - Date.now() / 1000)).toBeLessThan(5);
  });
});
