/**
 * Where each kind of shared record lives, relative to the tier's metadata store (the bucket's
 * `<prefix>meta/`). Content (configs, compressed layers, manifests) is not here: it is in the
 * tier's StoreBackend (`<prefix>blobs/`), by digest.
 *
 * - `refs/log/<name>`: immutable change records; their names order them (see {@link ReferenceLog}).
 * - `refs/snapshots/<name>`: the state after every record up to `<name>`, written by compaction.
 * - `leases/<host>`: one record per host, rewritten by that host only (its heartbeat).
 * - `ingest/<digest>/…`: claims of the right to upload a blob (one uploader per digest).
 * - `gc/<run>`: a collection in progress and the candidates it may delete.
 */
export const SharedKeys = {
  log: "refs/log",
  snapshots: "refs/snapshots",
  leases: "leases",
  ingest: "ingest",
  gc: "gc",
} as const;
