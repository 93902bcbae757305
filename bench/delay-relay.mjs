#!/usr/bin/env node
// A TCP relay that holds every byte for --delay ms in each direction (so 2x that of round trip)
// and a connection's first bytes for one more round trip (the handshake). The benchmark runs it
// inside its network namespace in front of the registry because these VMs' kernel has no netem
// (CONFIG_NET_SCH_NETEM is not set; nor fq, which would honour BPF-set departure times): the
// veth's rate limit is the kernel's (tbf), the latency is this relay's. It models the round
// trips a client pays per request and per connection, not TCP's slow start over a long path
// (each leg of the relay has a loopback-like RTT, so congestion windows open at once).
// Usage: node bench/delay-relay.mjs --listen 10.213.0.2:5000 --target 127.0.0.1:5001 --delay 10
import { createConnection, createServer } from "node:net";

const opt = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const hostPort = (s) => {
  const i = s.lastIndexOf(":");
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
};
const listen = hostPort(opt("listen", "127.0.0.1:0"));
const target = hostPort(opt("target", "127.0.0.1:5000"));
const delay = Number(opt("delay", "10"));
// Enough in flight for 1 Gbit/s over the delay (125 KB per ms) with room to spare.
const maxQueued = Math.max(4 << 20, 125_000 * delay * 4);
const END = Symbol("end");

/** Copies `from` to `to`, each chunk written `delay` ms after it arrived, in order. */
function pipeDelayed(from, to) {
  const queue = [];
  let queued = 0;
  let timer;
  let waitingDrain = false;
  const schedule = () => {
    if (timer === undefined && !waitingDrain && queue.length > 0) timer = setTimeout(flush, Math.max(0, queue[0].at - performance.now()));
  };
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now) {
      if (to.writableNeedDrain) {
        waitingDrain = true;
        to.once("drain", () => {
          waitingDrain = false;
          flush();
        });
        return;
      }
      const { chunk } = queue.shift();
      if (chunk === END) {
        to.end();
        return;
      }
      queued -= chunk.length;
      to.write(chunk);
    }
    if (queued < maxQueued && from.isPaused()) from.resume();
    schedule();
  };
  from.on("data", (chunk) => {
    queued += chunk.length;
    if (queued >= maxQueued) from.pause();
    queue.push({ chunk, at: performance.now() + delay });
    schedule();
  });
  from.on("end", () => {
    queue.push({ chunk: END, at: performance.now() + delay });
    schedule();
  });
}

// Half-open allowed on both legs: each direction ends on its own, after its delayed bytes, so a
// registry that answers and closes (or a client that sends and shuts down) loses nothing.
const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
  const upstream = createConnection({ ...target, allowHalfOpen: true });
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", fail);
  upstream.on("error", fail);
  // The client gone for good means nothing more can reach it; the registry gone is not the end
  // yet: its last bytes may still wait in the delay queue.
  client.on("close", () => upstream.destroy());
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  // The handshake's round trip: a client's first request cannot leave before it.
  setTimeout(() => {
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
    client.resume();
  }, 2 * delay);
});
server.listen(listen.port, listen.host, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
