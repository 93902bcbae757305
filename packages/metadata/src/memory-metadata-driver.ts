import type { MetadataDriver } from "./metadata-driver";
import type { MetadataCapabilities, MetadataRecord } from "./metadata-store";

/**
 * Records in a Map, in this process. Each primitive runs without awaiting in between, so it is
 * atomic on the one thread that can reach the Map: compare-and-swap is honoured. Versions count
 * writes ("1", "2"…), so writing the same bytes again makes a new version.
 */
export class MemoryMetadataDriver implements MetadataDriver {
  readonly name = "memory";
  readonly capabilities: MetadataCapabilities = { conditional: true, persistent: false, shared: false };
  private readonly records = new Map<string, MetadataRecord>();
  private writes = 0;

  async read(key: string): Promise<MetadataRecord | undefined> {
    const record = this.records.get(key);
    // A copy: a caller changing the bytes it was given must not change the record.
    return record && { data: record.data.slice(), version: record.version };
  }

  async create(key: string, data: Uint8Array): Promise<string | undefined> {
    return this.records.has(key) ? undefined : this.set(key, data);
  }

  async replace(key: string, data: Uint8Array, version: string): Promise<string | undefined> {
    return this.records.get(key)?.version === version ? this.set(key, data) : undefined;
  }

  async write(key: string, data: Uint8Array): Promise<string> {
    return this.set(key, data);
  }

  async remove(key: string, version?: string): Promise<boolean> {
    if (version !== undefined && this.records.get(key)?.version !== version) return false;
    this.records.delete(key);
    return true;
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix === "") return [...this.records.keys()];
    return [...this.records.keys()].filter((key) => key.startsWith(`${prefix}/`));
  }

  private set(key: string, data: Uint8Array): string {
    const version = String(++this.writes);
    this.records.set(key, { data: data.slice(), version });
    return version;
  }
}
