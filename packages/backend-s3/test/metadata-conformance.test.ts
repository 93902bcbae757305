import { metadataConformance } from "@store/metadata/conformance";
import { createS3MetadataStore } from "../src/index";
import { useS3rver, freshPrefix, removeAll } from "./s3-fixture";

const s3 = useS3rver();

// s3rver ignores If-None-Match and If-Match, so the probe finds compare-and-swap not honoured and
// the race cases are skipped on `capabilities.conditional`; the rest runs through
// allowUnconditional (read-check-write, fine one writer at a time).
metadataConformance("s3 (s3rver)", async () => {
  const prefix = freshPrefix("metadata");
  const open = () => createS3MetadataStore({ bucket: s3.peer.bucket, prefix, clientConfig: s3.peer.clientConfig, allowUnconditional: true });
  return { store: await open(), reopen: open, cleanup: () => removeAll(s3.direct, s3.peer.bucket, prefix) };
});
