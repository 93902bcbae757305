import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { S3ClientConfig } from "@aws-sdk/client-s3";

/** Sockets per host: enough for several uploads' parts in flight at once. */
const maxSockets = 64;

/**
 * Defaults for a client the backend builds itself; anything in `config` wins. Region,
 * credentials and endpoint are left to the SDK's default chains (AWS_REGION, AWS_PROFILE,
 * instance roles…) unless given.
 *
 * Retries: the SDK's standard strategy already retries throttling (503 SlowDown, 429), 5xx and
 * connection resets with capped, fully jittered exponential backoff and a retry budget that
 * stops retry storms during an outage; five attempts ride out a short blip. Streamed bodies are
 * beyond its reach once headers arrive: the driver resumes those itself (object-reads.ts).
 * Part uploads send buffers, not streams, so the SDK can resend them.
 *
 * Timeouts: without them a server that stops answering hangs a request forever. The socket
 * timeout is an idle timeout, so a large but moving transfer is never cut.
 *
 * Agents: with its own default agent the SDK sends large bodies with `Expect: 100-continue`
 * through a fresh, non-keep-alive agent per request, which costs a connection per part and keeps
 * each part's buffer alive for a while after its response (twice the memory measured here).
 * Keep-alive agents of our own avoid both.
 */
export function clientConfigWithDefaults(config: S3ClientConfig = {}): S3ClientConfig {
  return {
    maxAttempts: 5,
    retryMode: "standard",
    requestHandler: {
      connectionTimeout: 10_000,
      socketTimeout: 120_000,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    },
    ...config,
  };
}
