import { describe, expect, it } from "vitest";
import { commandHelp, parseCommandArgs } from "../src/command";
import { imagesCommand } from "../src/commands/images";
import { defaultRoot } from "@store/service";
import { compileTemplate, parseOutputFormat } from "../src/format/go-template";
import { parseGlobalOptions } from "../src/global-options";
import { storeOptions } from "../src/main";
import { UsageError } from "../src/usage-error";
import { store } from "./helpers";

describe("global options", () => {
  it("stop at the command and take both --flag value and --flag=value", () => {
    const { options, rest } = parseGlobalOptions(["--root", "/r", "--storage-driver=overlay2", "--backend", "memory", "images", "--root", "x"]);
    expect(options).toMatchObject({ root: "/r", storageDriver: "overlay2", backend: "memory" });
    expect(rest).toEqual(["images", "--root", "x"]);
  });

  it("refuse unknown flags, missing values and unknown backends", () => {
    expect(() => parseGlobalOptions(["--bogus", "images"])).toThrow(/unknown flag: --bogus/);
    expect(() => parseGlobalOptions(["--root"])).toThrow(/flag needs an argument: --root/);
    expect(() => parseGlobalOptions(["--backend", "ftp", "images"])).toThrow(UsageError);
  });

  it("default the root to STORE_ROOT, then XDG_DATA_HOME, then ~/.local/share", () => {
    expect(defaultRoot({ STORE_ROOT: "/a", XDG_DATA_HOME: "/b", HOME: "/h" })).toBe("/a");
    expect(defaultRoot({ XDG_DATA_HOME: "/b", HOME: "/h" })).toBe("/b/store");
    expect(defaultRoot({ HOME: "/h" })).toBe("/h/.local/share/store");
  });

  it("take S3 settings from flags first, then STORE_S3_*, then AWS_*", () => {
    const { options } = parseGlobalOptions(["--backend", "s3", "--s3-bucket", "b"]);
    const o = storeOptions(options, { STORE_S3_PREFIX: "p", AWS_ENDPOINT_URL: "http://127.0.0.1:1", AWS_REGION: "eu-west-1", STORE_S3_BUCKET: "ignored" });
    expect(o.s3).toEqual({ bucket: "b", prefix: "p", endpoint: "http://127.0.0.1:1", region: "eu-west-1" });
    expect(storeOptions(parseGlobalOptions([]).options, { STORE_ROOT: "/x", HOME: "/home/u" })).toEqual({
      root: "/x",
      driver: "overlay2",
      backend: "fs",
      registry: { configDir: "/home/u/.docker" },
    });
  });

  it("take registry settings from flags and the environment, refusing a bad count", () => {
    const { options } = parseGlobalOptions(["--insecure-registry", "10.0.0.1:5000,reg.local", "--max-concurrent-downloads", "6"]);
    const o = storeOptions(options, { DOCKER_CONFIG: "/cfg", STORE_INSECURE_REGISTRIES: "other:1", STORE_REGISTRY_MIRRORS: "https://m.example" });
    expect(o.registry).toEqual({ configDir: "/cfg", insecureRegistries: ["10.0.0.1:5000", "reg.local", "other:1"], mirrors: ["https://m.example"] });
    expect(o.maxConcurrentDownloads).toBe(6);
    expect(() => storeOptions(parseGlobalOptions(["--max-concurrent-uploads", "0"]).options, {})).toThrow(/must be a positive integer/);
  });
});

describe("command arguments", () => {
  it("interleave flags and positionals, group short flags, repeat filters", () => {
    const p = parseCommandArgs(imagesCommand, ["-aq", "busybox", "--filter", "dangling=true", "-f", "label=a", "--format=json"])!;
    expect(p.positionals).toEqual(["busybox"]);
    expect(p.values).toMatchObject({ all: true, quiet: true, filter: ["dangling=true", "label=a"], format: "json" });
  });

  it("answer -h and --help with undefined (help is printed)", () => {
    expect(parseCommandArgs(imagesCommand, ["-h"])).toBeUndefined();
    expect(parseCommandArgs(imagesCommand, ["busybox", "--help"])).toBeUndefined();
  });

  it("reject unknown flags and wrong argument counts as usage errors", () => {
    expect(() => parseCommandArgs(imagesCommand, ["--bogus"])).toThrow(/unknown flag: --bogus/);
    expect(() => parseCommandArgs(imagesCommand, ["-z"])).toThrow(/unknown shorthand flag: 'z' in -z/);
    expect(() => parseCommandArgs(imagesCommand, ["a", "b"])).toThrow(/"store images" accepts at most 1 argument/);
    expect(() => parseCommandArgs(imagesCommand, ["--format"])).toThrow(/flag needs an argument/);
  });

  it("print help shaped like docker's", () => {
    const help = commandHelp(imagesCommand);
    expect(help).toMatch(
      /^Usage: {2}store images \[OPTIONS\] \[REPOSITORY\[:TAG\]\]\n\nList images\n\nAliases:\n {2}store image ls, store image list, store images\n\nOptions:\n/,
    );
    expect(help).toContain("  -a, --all ");
    expect(help).toContain("  -f, --filter filter ");
    expect(help).toContain("      --no-trunc ");
  });
});

describe("templates", () => {
  it("render fields, json, nested paths and escapes like docker", () => {
    expect(compileTemplate("{{.ID}}\\t{{ .Tag }}")({ ID: "abc", Tag: "1" })).toBe("abc\t1");
    // docker's json func leaves HTML alone; a listing row's own JSON (rowJson) escapes it.
    expect(compileTemplate("{{json .}}")({ B: "<x>", A: "1" })).toBe('{"B":"<x>","A":"1"}');
    expect(compileTemplate("{{json .}} {{json .B}}", { rowJson: true })({ B: "<x>" })).toBe('{"B":"\\u003cx\\u003e"} "<x>"');
    expect(compileTemplate("{{.Config.Cmd}} {{json .Config.Cmd}} {{.L}}")({ Config: { Cmd: ["sh", "-c"] }, L: { b: "2", a: "1" } })).toBe(
      '[sh -c] ["sh","-c"] map[a:1 b:2]',
    );
    expect(compileTemplate("{{upper .A}}")({ A: "x" })).toBe("X");
  });

  it("range, if/else, index, join, len, title and whitespace trimming, as Go's text/template", () => {
    const img = { RepoTags: ["a:1", "b:2"], RepoDigests: [], Config: { Labels: { z: "26", a: "1" }, Env: null }, Size: 0 };
    expect(compileTemplate("{{range .RepoTags}}{{.}} {{end}}")(img)).toBe("a:1 b:2 ");
    // Maps range in key order, dot is the value.
    expect(compileTemplate("{{range .Config.Labels}}[{{.}}]{{end}}")(img)).toBe("[1][26]");
    expect(compileTemplate("{{range .RepoDigests}}x{{else}}none{{end}}|{{range .Config.Env}}x{{else}}nil{{end}}")(img)).toBe("none|nil");
    expect(compileTemplate('{{index .Config.Labels "z"}}|{{index .Config.Labels "missing"}}|{{index .RepoTags 1}}')(img)).toBe("26||b:2");
    expect(compileTemplate('{{join .RepoTags ", "}} {{len .RepoTags}} {{len .Config.Labels}}')(img)).toBe("a:1, b:2 2 2");
    expect(compileTemplate("{{if .RepoDigests}}yes{{else}}no{{end}} {{if .RepoTags}}tagged{{end}} {{if .Size}}big{{else}}empty{{end}}")(img)).toBe(
      "no tagged empty",
    );
    expect(compileTemplate("{{title .A}} {{print .N 2}} {{print .A .A}}")({ A: "hello world", N: 1 })).toBe("Hello World 1 2 hello worldhello world");
    expect(compileTemplate("{{range .RepoTags -}}\n  {{.}}\n{{- end}}")(img)).toBe("a:1b:2");
    expect(compileTemplate("{{range .RepoTags}}{{range .}}{{end}}{{end}}")({ RepoTags: [["x"]] })).toBe("");
    // Go string literals: docker's \t becomes a raw tab inside the quotes; escapes as strconv.Unquote.
    expect(compileTemplate('{{join .RepoTags "\\t"}}|{{print "\\x41\\u00e9\\101"}}')(img)).toBe("a:1\tb:2|AéA");
    expect(compileTemplate('{{len "héllo"}} {{title "foo_bar baz"}}')({})).toBe("6 Foo_bar Baz");
  });

  it("refuse unknown fields and unsupported actions instead of printing wrong output", () => {
    expect(() => compileTemplate("{{.Nope}}")({ ID: "x" })).toThrow(/can't evaluate field Nope/);
    expect(() => compileTemplate("{{with .A}}x{{end}}")).toThrow(UsageError);
    expect(() => compileTemplate("{{range .A}}x")).toThrow(/has no \{\{end\}\}/);
    expect(() => compileTemplate("x{{end}}")).toThrow(/unexpected \{\{end\}\}/);
    expect(() => compileTemplate("{{.A | upper}}")).toThrow(UsageError);
    expect(() => compileTemplate("{{index .A 5}}")({ A: [1] })).toThrow(/index out of range/);
    expect(() => compileTemplate("{{.constructor}}")({ ID: "x" })).toThrow(/can't evaluate field constructor/);
    expect(compileTemplate('{{index .L "constructor"}}')({ L: {} })).toBe("");
    expect(() => compileTemplate('{{print "bad \\q"}}')).toThrow(UsageError);
  });

  it("select table, json, table TEMPLATE or a bare template", () => {
    expect(parseOutputFormat(undefined, "{{.ID}}")).toEqual({ kind: "table", template: "{{.ID}}" });
    expect(parseOutputFormat("json", "{{.ID}}")).toEqual({ kind: "json" });
    expect(parseOutputFormat("table {{.Tag}}", "{{.ID}}")).toEqual({ kind: "table", template: "{{.Tag}}" });
    expect(parseOutputFormat("{{.Tag}}", "{{.ID}}").kind).toBe("template");
  });
});

describe("the store command line", () => {
  it("prints top-level, command and management-command help with exit 0", async () => {
    const top = await store(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: {2}store \[OPTIONS\] COMMAND/);
    for (const c of ["images", "inspect", "history", "tag", "rmi", "import", "verify", "df", "mount", "unmount", "load", "save", "version"]) {
      expect(top.stdout).toContain(`  ${c} `);
    }
    expect((await store([])).stdout).toBe(top.stdout);
    const image = await store(["image"]);
    expect(image.stdout).toMatch(/Usage: {2}store image COMMAND[\s\S]* {2}ls +List images[\s\S]* {2}prune +Remove unused images/);
    for (const c of ["images", "image ls", "image prune", "rmi", "save", "load", "mount"]) {
      const r = await store([...c.split(" "), "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: {2}store ${c} `));
    }
  });

  it("fails usage errors with one line and exit 125", async () => {
    for (const args of [["images", "--bogus"], ["nosuch"], ["image", "nosuch"], ["tag", "a"], ["--bogus"], ["save", "--format", "zip", "x"]]) {
      const r = await store(args);
      expect(r.code, args.join(" ")).toBe(125);
      expect(r.stderr, args.join(" ")).toMatch(/^store: [^\n]+\n$/);
      expect(r.stdout).toBe("");
    }
  });

  it("prints its version", async () => {
    expect((await store(["--version"])).stdout).toMatch(/^store version \d+\.\d+\.\d+\n$/);
    const json = JSON.parse((await store(["version", "--format", "json"])).stdout);
    expect(json).toMatchObject({ Os: "linux", NodeVersion: process.version });
  });

  it("refuses to save to a terminal, like docker", async () => {
    const r = await store(["save", "busybox"], { stdoutTTY: true });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/cowardly refusing to save to a terminal/);
  });
});
