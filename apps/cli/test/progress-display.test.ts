import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import type { ProgressEvent } from "@store/service";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatG } from "../src/format/go-format";
import { formatProgressBar } from "../src/format/progress-bar";
import { createProgressDisplay } from "../src/format/progress-display";
import { ProgressLines } from "../src/format/progress-lines";
import { humanSize } from "../src/format/units";

const fixtures = new URL("fixtures/docker-progress/", import.meta.url);

/**
 * A recorded pull or push: the JSON messages dockerd sent (read off its socket through a proxy)
 * and what docker 28's CLI printed for them, byte for byte (README.md in the fixture folder).
 * Docker's `aux` messages go to a callback and print nothing; our events have no such thing.
 */
function recorded(name: string): { events: ProgressEvent[]; printed: string } {
  const events = readFileSync(new URL(`${name}.jsonl`, fixtures), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((m) => m.aux === undefined)
    .map((m) => {
      const event: ProgressEvent = { status: m.status as string };
      if (m.progressDetail !== undefined) event.progressDetail = m.progressDetail as ProgressEvent["progressDetail"] & object;
      if (m.id !== undefined) event.id = m.id as string;
      return event;
    });
  return { events, printed: readFileSync(new URL(`${name}.out`, fixtures), "latin1") };
}

function render(events: readonly ProgressEvent[], terminal: boolean, width?: number): string {
  const state = new ProgressLines(width === undefined ? { terminal } : { terminal, width });
  return events.map((e) => state.render(e)).join("");
}

class Capture extends Writable {
  text = "";
  isTTY: boolean;
  columns: number | undefined;
  constructor(isTTY: boolean, columns?: number) {
    super();
    this.isTTY = isTTY;
    this.columns = columns;
  }
  override _write(chunk: Buffer, _encoding: string, callback: () => void) {
    this.text += chunk.toString("latin1");
    callback();
  }
}

describe("progress like docker's CLI (recorded from docker 28 against dockerd and a loopback registry)", () => {
  it("docker pull on a 120-column terminal: lines in place, bars", () => {
    const { events, printed } = recorded("pull-tty");
    expect(render(events, true, 120)).toBe(printed);
  });

  it("docker pull on an 80-column terminal: counts without bars", () => {
    const { events, printed } = recorded("pull-tty80");
    expect(render(events, true, 80)).toBe(printed);
  });

  it("docker push on a 120-column terminal (counts past the total show alone)", () => {
    const { events, printed } = recorded("push-tty");
    expect(render(events, true, 120)).toBe(printed);
  });

  it("docker pull into a pipe: id: status lines, no bars, no escapes", () => {
    const { events, printed } = recorded("pull-pipe");
    expect(render(events, false)).toBe(printed);
  });

  it("createProgressDisplay writes the same bytes when nothing is throttled", () => {
    const { events, printed } = recorded("pull-tty");
    const out = new Capture(true, 120);
    const display = createProgressDisplay(out, { intervalMs: 0 });
    for (const e of events) display.onProgress(e);
    display.done();
    expect(out.text).toBe(printed);
    const piped = new Capture(false);
    const pipeDisplay = createProgressDisplay(piped);
    for (const e of recorded("pull-pipe").events) pipeDisplay.onProgress(e);
    pipeDisplay.done();
    expect(piped.text).toBe(recorded("pull-pipe").printed);
  });
});

describe("formatProgressBar (jsonmessage JSONProgress.String)", () => {
  it("draws nothing before anything is counted", () => {
    expect(formatProgressBar({})).toBe("");
    expect(formatProgressBar({ current: 0, total: 0 })).toBe("");
  });
  it("without a total: the count alone, right-aligned in 8", () => {
    expect(formatProgressBar({ current: 1_050_000 })).toBe("  1.05MB");
    expect(formatProgressBar({ current: 123_456_789 })).toBe(" 123.5MB");
  });
  it("a 50-wide bar when wider than 110 columns", () => {
    expect(formatProgressBar({ current: 0, total: 10 })).toBe(`[>${" ".repeat(50)}]       0B/10B`);
    expect(formatProgressBar({ current: 36445, total: 1064561 }, 120)).toBe(`[=>${" ".repeat(49)}]  36.45kB/1.065MB`);
    expect(formatProgressBar({ current: 1064561, total: 1064561 }, 111)).toBe(`[${"=".repeat(50)}>]  1.065MB/1.065MB`);
    expect(formatProgressBar({ current: 36445, total: 1064561 }, 110)).toBe(" 36.45kB/1.065MB");
  });
  it("a count past the total shows alone, with a full bar", () => {
    expect(formatProgressBar({ current: 151552, total: 150000 })).toBe(`[${"=".repeat(50)}>]  151.6kB`);
  });
});

describe("go-units sizes at four digits, ties to even as Go rounds them", () => {
  it("rounds exact ties to even, and everything else to nearest", () => {
    expect(formatG(12.125, 4)).toBe("12.12");
    expect(formatG(12.375, 4)).toBe("12.38");
    expect(formatG(0.5, 1)).toBe("0.5");
    expect(formatG(2.5, 1)).toBe("2");
    expect(formatG(3.5, 1)).toBe("4");
    expect(formatG(-2.5, 1)).toBe("-2");
    expect(humanSize(12125, 4)).toBe("12.12kB");
    expect(humanSize(36445, 4)).toBe("36.45kB");
    expect(humanSize(12003849, 4)).toBe("12MB");
  });
});

describe("createProgressDisplay throttles bars on a terminal", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("draws the first bar, holds the next ones within the interval, and draws the newest when it is up", () => {
    vi.useFakeTimers();
    const out = new Capture(true, 120);
    const display = createProgressDisplay(out);
    const bar = (current: number) => ({ status: "Downloading", progressDetail: { current, total: 1000 }, id: "aaa" });
    display.onProgress({ status: "Pulling fs layer", progressDetail: {}, id: "aaa" });
    display.onProgress(bar(100));
    display.onProgress(bar(200));
    display.onProgress(bar(300));
    expect(out.text).toContain("100B/1kB");
    expect(out.text).not.toContain("200B/1kB");
    expect(out.text).not.toContain("300B/1kB");
    vi.advanceTimersByTime(100);
    expect(out.text).not.toContain("200B/1kB");
    expect(out.text).toContain("300B/1kB");
    display.onProgress(bar(400));
    display.onProgress(bar(1000)); // the last one is never held
    expect(out.text).toContain("1kB/1kB");
    display.done();
    expect(out.text).not.toContain("400B/1kB");
  });

  it("a status change replaces a held bar; done() draws what is still held", () => {
    vi.useFakeTimers();
    const out = new Capture(true, 120);
    const display = createProgressDisplay(out);
    const bar = (id: string, current: number) => ({ status: "Downloading", progressDetail: { current, total: 1000 }, id });
    display.onProgress(bar("a", 1));
    display.onProgress(bar("a", 2));
    display.onProgress({ status: "Download complete", progressDetail: {}, id: "a" });
    display.onProgress(bar("b", 1));
    display.onProgress(bar("b", 5));
    display.done();
    expect(out.text).not.toContain("2B/1kB");
    expect(out.text).toContain("a: Download complete");
    expect(out.text).toContain("5B/1kB");
    vi.advanceTimersByTime(1000);
  });

  it("a message draws held bars first, then ends the block", () => {
    vi.useFakeTimers();
    const out = new Capture(true, 120);
    const display = createProgressDisplay(out);
    display.onProgress({ status: "Downloading", progressDetail: { current: 1, total: 1000 }, id: "a" });
    display.onProgress({ status: "Downloading", progressDetail: { current: 7, total: 1000 }, id: "a" });
    display.onProgress({ status: "Digest: sha256:00" });
    expect(out.text.indexOf("7B/1kB")).toBeGreaterThan(-1);
    expect(out.text.indexOf("7B/1kB")).toBeLessThan(out.text.indexOf("Digest:"));
    display.done();
  });

  it("asks the terminal's width at every bar, as docker does: a widened window gets bars", () => {
    const out = new Capture(true, 80);
    const display = createProgressDisplay(out, { intervalMs: 0 });
    display.onProgress({ status: "Downloading", progressDetail: { current: 1, total: 2 }, id: "a" });
    expect(out.text).not.toContain(">");
    out.columns = 120;
    display.onProgress({ status: "Downloading", progressDetail: { current: 2, total: 2 }, id: "a" });
    expect(out.text).toContain(`[${"=".repeat(50)}>]`);
    display.done();
  });

  it("terminal control characters in a status or id print as text", () => {
    const state = new ProgressLines({ terminal: false });
    expect(state.render({ status: "evil\x1b[2Jstatus", id: "x\x07" })).toBe("x\\x07: evil\\x1b[2Jstatus\n");
  });
});
