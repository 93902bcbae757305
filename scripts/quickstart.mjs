#!/usr/bin/env node
// The quickstart's main job: the `store` CLI against its embedded default store (no set-up:
// $STORE_ROOT, else $XDG_DATA_HOME/store or ~/.local/share/store). On a store with no images it
// first imports a tiny demo image, so the listing shows something real.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { writeTar } from "@store/tar-split";

const bin = fileURLToPath(new URL("../apps/cli/bin/store.js", import.meta.url));
// The echoed command is meant to be pasted into a shell, so an argument such as
// `-m "quickstart demo"` must stay one word there: single-quote anything beyond plain characters.
const shellQuote = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);
const store = (args, input) => {
  console.log(`$ store ${args.map(shellQuote).join(" ")}`);
  const r = spawnSync(process.execPath, [bin, ...args], { input, stdio: [input ? "pipe" : "inherit", "inherit", "inherit"] });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const ids = spawnSync(process.execPath, [bin, "images", "-q"], { encoding: "utf8" });
if (ids.status !== 0) {
  process.stderr.write(ids.stderr);
  process.exit(ids.status ?? 1);
}
if (ids.stdout.trim() === "") {
  const mtime = new Date("2026-01-01T00:00:00Z");
  const chunks = [];
  for await (const c of writeTar(
    (async function* () {
      yield { header: { name: "etc/", type: "directory", mtime } };
      yield { header: { name: "etc/hello.txt", type: "file", mtime }, body: Buffer.from("hello from store\n") };
    })(),
  ))
    chunks.push(c);
  store(["import", "-m", "quickstart demo", "-", "hello:latest"], Buffer.concat(chunks));
}
store(["images"]);
store(["df"]);
