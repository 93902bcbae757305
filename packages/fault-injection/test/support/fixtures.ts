import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StoreService } from "@store/service";
import { type RegistryPeer, registrySkipReason, startRegistry, writeDockerArchive } from "@store/test-peers";
import { buildTestImage, makeTar, uploadTestImage } from "@store/test-support";
import { type Command, runCommand } from "./commands";

/** The suite's inputs: the four commands, a root holding the image rmi removes, the registry. */
export interface SuiteFixtures {
  commands: Partial<Record<Command["command"], Command>>;
  /** A root with the loaded image, copied for each rmi run. */
  loaded: string;
  registry: RegistryPeer | undefined;
}

/**
 * Small on purpose (two layers of a few files; a 70 kB file so a layer spans several writes):
 * every call of every command is faulted in turn, so the count of calls is the suite's time.
 */
export async function suiteFixtures(dir: string, openStore: (o: { root: string }) => Promise<StoreService>): Promise<SuiteFixtures> {
  const layers: Record<string, string>[] = [
    { "bin/sh": "#!/bin/true\n", "etc/motd": "base\n" },
    { "app/main": "x".repeat(70_000), "etc/motd": "app\n" },
  ];
  const commands: SuiteFixtures["commands"] = {};
  const archive = join(dir, "image.tar");
  await writeDockerArchive(archive, "fi/load:1", layers);
  commands.load = { command: "load", archive, name: "fi/load:1" };
  const tar = join(dir, "rootfs.tar");
  await writeFile(tar, await makeTar({ "etc/": "", "etc/hostname": "imported\n", "big.bin": "b".repeat(70_000) }));
  commands.import = { command: "import", tar, tag: "fi/import:1" };
  commands.rmi = { command: "rmi", name: "fi/load:1" };
  const loaded = join(dir, "loaded");
  const store = await openStore({ root: loaded });
  await runCommand(store, commands.load);
  await store.close();
  let registry: RegistryPeer | undefined;
  if (registrySkipReason() === undefined) {
    registry = await startRegistry();
    await uploadTestImage(registry.host, "fi/pull", "1", await buildTestImage(layers));
    commands.pull = { command: "pull", ref: `${registry.host}/fi/pull:1` };
  }
  return { commands, loaded, registry };
}
