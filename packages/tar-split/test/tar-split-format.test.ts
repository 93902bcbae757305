import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { isStoreError } from "@store/errors";
import { describe, expect, it } from "vitest";
import { Crc64, TarErrorCode, assembleTar, crc64, decodeTarSplitPacket, encodeTarSplitPacket, readTarSplit, type TarSplitPacket } from "../src/index";
import { chunked, collect } from "./helpers";

/** Bit-by-bit CRC-64/ISO with BigInt: the definition, to check the table code against. */
function referenceCrc(data: Uint8Array): bigint {
  const poly = 0xd800000000000000n;
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let i = 0; i < 8; i++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

describe("CRC-64/ISO", () => {
  it("has Go's check value", () => {
    expect(new Crc64().update(Buffer.from("123456789")).value()).toBe(0xb90956c775a41001n);
    expect(Buffer.from(crc64(Buffer.from("123456789"))).toString("hex")).toBe("b90956c775a41001");
    expect(Buffer.from(crc64(new Uint8Array(0))).toString("hex")).toBe("0000000000000000");
    // What dockerd recorded for a file holding "q".
    expect(Buffer.from(crc64(Buffer.from("q"))).toString("base64")).toBe("LyAAAAAAAAA=");
  });

  it("matches the bitwise definition for any length and any split into updates", () => {
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000]) {
      const data = randomBytes(n);
      const expected = referenceCrc(data);
      expect(new Crc64().update(data).value()).toBe(expected);
      const c = new Crc64();
      for (const part of chunked(data, 3)) c.update(part);
      expect(c.value()).toBe(expected);
      // views at every offset from a word boundary (the body is read as 32-bit words)
      for (let offset = 1; offset < 8; offset++) {
        const shifted = new Uint8Array(new ArrayBuffer(n + 8), offset, n);
        shifted.set(data);
        expect(new Crc64().update(shifted).value()).toBe(expected);
      }
    }
  });
});

describe("tar-split JSON lines", () => {
  it("write keys in Go's order and omit what Go omits", () => {
    expect(encodeTarSplitPacket({ type: 2, payload: Buffer.from("ab"), position: 0 })).toBe('{"type":2,"payload":"YWI=","position":0}\n');
    expect(encodeTarSplitPacket({ type: 2, payload: new Uint8Array(0), position: 9 })).toBe('{"type":2,"payload":"","position":9}\n');
    expect(encodeTarSplitPacket({ type: 1, name: "d/", size: 0, payload: null, position: 1 })).toBe('{"type":1,"name":"d/","payload":null,"position":1}\n');
    expect(encodeTarSplitPacket({ type: 1, name: "", size: 0, payload: null, position: 1 })).toBe('{"type":1,"payload":null,"position":1}\n');
    expect(encodeTarSplitPacket({ type: 1, name: "", nameRaw: Buffer.from([0xff]), size: 3, payload: Buffer.alloc(8), position: 2 })).toBe(
      '{"type":1,"name_raw":"/w==","size":3,"payload":"AAAAAAAAAAA=","position":2}\n',
    );
  });

  it("read what Go writes: unknown keys ignored, name_raw, missing size and payload", async () => {
    const text = [
      '{"type":2,"payload":"YWI=","position":0,"extra":true}',
      '{"type":1,"name_raw":"/w==","size":1,"payload":"LyAAAAAAAAA=","position":1}',
      '{"type":1,"name":"d/","position":2}',
      "",
      '{"type":2,"position":3}',
    ].join("\n");
    const packets: TarSplitPacket[] = [];
    for await (const p of readTarSplit(gzipSync(text))) packets.push(p);
    expect(packets).toHaveLength(4);
    expect(packets[1]).toMatchObject({ type: 1, name: "", size: 1 });
    expect(Buffer.from((packets[1] as { nameRaw: Uint8Array }).nameRaw)).toEqual(Buffer.from([0xff]));
    expect(packets[2]).toEqual({ type: 1, name: "d/", size: 0, payload: null, position: 2 });
    expect(packets[3]).toEqual({ type: 2, payload: new Uint8Array(0), position: 3 });
  });

  it("refuse what is not a tar-split", async () => {
    for (const bad of [
      gzipSync('{"type":3}\n'),
      gzipSync("not json\n"),
      gzipSync('{"type":1,"size":-1}\n'),
      gzipSync('{"type":2,"payload":"%%%"}\n'),
      Buffer.from("plain"),
    ]) {
      const error = await (async () => {
        for await (const _ of readTarSplit(bad)) void _;
      })().catch((e: unknown) => e);
      expect(isStoreError(error, TarErrorCode.InvalidTarSplit)).toBe(true);
    }
    expect(() => decodeTarSplitPacket("[1]", 4)).toThrow(/line 4/);
  });
});

describe("assembleTar", () => {
  const content = Buffer.from("hello");
  const packets: TarSplitPacket[] = [
    { type: 2, payload: Buffer.from("HEAD"), position: 0 },
    { type: 1, name: "f", size: 5, payload: crc64(content), position: 1 },
    { type: 2, payload: Buffer.from("TAIL"), position: 2 },
  ];
  const rebuild = (data: Buffer) => collect(assembleTar(packets, async () => [data] as unknown as AsyncIterable<Uint8Array>));

  it("writes segments and verified contents", async () => {
    expect((await rebuild(content)).toString()).toBe("HEADhelloTAIL");
  });

  it("fails a changed file with ERR_TAR_SPLIT_CRC_MISMATCH naming it, a resized one with ERR_TAR_SPLIT_SIZE_MISMATCH", async () => {
    const crc = await rebuild(Buffer.from("hellO")).catch((e: unknown) => e);
    expect(isStoreError(crc, TarErrorCode.CrcMismatch)).toBe(true);
    expect((crc as Error).message).toContain('"f"');
    expect(isStoreError(await rebuild(Buffer.from("hell")).catch((e: unknown) => e), TarErrorCode.SizeMismatch)).toBe(true);
    expect(isStoreError(await rebuild(Buffer.from("hello!")).catch((e: unknown) => e), TarErrorCode.SizeMismatch)).toBe(true);
  });
});
