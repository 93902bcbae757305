import { describe, expect, it } from "vitest";
import { compareGoStrings, goJsonMap, goJsonString, goJsonStruct, goJsonValue } from "../src/index";

describe("Go JSON encoding", () => {
  it("escapes strings as Go 1.19's encoding/json does", () => {
    expect(goJsonString("plain/name.txt")).toBe('"plain/name.txt"');
    expect(goJsonString(`a"b\\c\n\t<>&\u2028\u0001é😀`)).toBe('"a\\"b\\\\c\\n\\t\\u003c\\u003e\\u0026\\u2028\\u0001é😀"');
    expect(goJsonString("<&>")).toBe('"\\u003c\\u0026\\u003e"');
    expect(goJsonString("a\u0001\u0008\u000c\n\r\t\u001f")).toBe('"a\\u0001\\u0008\\u000c\\n\\r\\t\\u001f"');
    expect(goJsonString('q"b\\s')).toBe('"q\\"b\\\\s"');
    expect(goJsonString("\u2028\u2029é😀\u007f")).toBe('"\\u2028\\u2029é😀\u007f"');
  });

  it("writes a lone surrogate as U+FFFD, the bytes Node's UTF-8 encoder gives Go", () => {
    expect(goJsonString("\ud800x")).toBe('"\ufffdx"');
    expect(goJsonString("x\udc00")).toBe('"x\ufffd"');
    expect(goJsonString("😀")).toBe('"😀"');
    expect(Buffer.from(goJsonString("a\ud800"))).toEqual(Buffer.from(JSON.stringify("a\ud800").replace("\\ud800", "\ud800")));
  });

  it("sorts map keys by bytes and keeps struct fields in order, omitting undefined", () => {
    expect(
      goJsonMap(
        [
          ["b", 1],
          ["10", 2],
          ["9", 3],
          ["a", 4],
        ],
        String,
      ),
    ).toBe('{"10":2,"9":3,"a":4,"b":1}');
    expect(compareGoStrings("\uffff", "😀")).toBeLessThan(0); // UTF-16 order would say otherwise
    expect(
      goJsonStruct([
        ["b", "1"],
        ["a", undefined],
        ["c", '"x"'],
      ]),
    ).toBe('{"b":1,"c":"x"}');
    expect(goJsonValue({ z: [1, "<"], a: null, n: Number.NaN })).toBe('{"a":null,"n":null,"z":[1,"\\u003c"]}');
    expect(goJsonValue({ z: 1, a: 2 }, true)).toBe('{"z":1,"a":2}');
  });
});
