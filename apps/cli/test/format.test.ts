import { describe, expect, it } from "vitest";
import { formatG, goJson, goTimeString } from "../src/format/go-format";
import { templateFields } from "../src/format/go-template";
import { formatTable } from "../src/format/table";
import { humanDuration, humanSize } from "../src/format/units";

describe("docker's formatting", () => {
  it("formats %g like Go", () => {
    expect(formatG(4.261, 3)).toBe("4.26");
    expect(formatG(190, 3)).toBe("190");
    expect(formatG(999.6, 3)).toBe("1e+03");
    expect(formatG(1.2, 3)).toBe("1.2");
    expect(formatG(0, 3)).toBe("0");
    expect(formatG(0.00001234, 3)).toBe("1.23e-05");
  });

  it("sizes like go-units", () => {
    expect(humanSize(0)).toBe("0B");
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(4_261_000)).toBe("4.26MB");
    expect(humanSize(190_123_456)).toBe("190MB");
    expect(humanSize(1_500_000_000)).toBe("1.5GB");
  });

  it("durations like go-units", () => {
    expect(humanDuration(500)).toBe("Less than a second");
    expect(humanDuration(1000)).toBe("1 second");
    expect(humanDuration(59_000)).toBe("59 seconds");
    expect(humanDuration(60_000)).toBe("About a minute");
    expect(humanDuration(30 * 60_000)).toBe("30 minutes");
    expect(humanDuration(3_600_000)).toBe("About an hour");
    expect(humanDuration(5 * 3_600_000)).toBe("5 hours");
    expect(humanDuration(3 * 86_400_000)).toBe("3 days");
    expect(humanDuration(21 * 86_400_000)).toBe("3 weeks");
    expect(humanDuration(90 * 86_400_000)).toBe("3 months");
    expect(humanDuration(3 * 365 * 86_400_000)).toBe("3 years");
  });

  it("prints times and JSON like Go", () => {
    expect(goTimeString(new Date(Date.UTC(2026, 10, 22, 17, 2, 3)))).toBe("2026-11-22 17:02:03 +0000 UTC");
    expect(goJson({ Tag: "<none>" })).toBe('{"Tag":"\\u003cnone\\u003e"}');
  });

  it("knows which fields a template reads, so listings format only those", () => {
    expect(templateFields("{{.ID}}\t{{json .Labels}} {{upper .Repository}}:{{.Tag}} {{.Config.Cmd}}")).toEqual(
      new Set(["ID", "Labels", "Repository", "Tag", "Config"]),
    );
    expect(templateFields("{{json .}}")).toBeUndefined();
    expect(templateFields("x {{ . }}")).toBeUndefined();
  });

  it("aligns tables like docker's tabwriter", () => {
    const t = formatTable(["REPOSITORY", "TAG", "IMAGE ID"], [["busybox", "latest", "8d25a9c45df5"]]);
    expect(t.split("\n")).toEqual(["REPOSITORY   TAG       IMAGE ID", "busybox      latest    8d25a9c45df5"]);
  });

  it("counts characters, not UTF-16 units, for widths (as Go counts runes)", () => {
    const t = formatTable(
      ["A", "B"],
      [
        ["ünïcödé-🐳🐳🐳-name", "x"],
        ["plain", "y"],
      ],
    );
    // 16 characters (each whale is two UTF-16 units) + 3 of padding = 19.
    expect(t.split("\n")).toEqual([`A${" ".repeat(18)}B`, "ünïcödé-🐳🐳🐳-name   x", `plain${" ".repeat(14)}y`]);
  });
});
