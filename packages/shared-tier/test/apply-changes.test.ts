import { describe, expect, test } from "vitest";
import { applyChanges, applyRecords, emptySharedState } from "../src/index";
import { encodeSnapshot, parseChangeRecord, parseSnapshot } from "../src/references/log-codec";
import { image } from "./reference-log-suite";

describe("applyChanges", () => {
  test("image and tag add; untag removes; untag of a missing reference changes nothing", () => {
    const a = image("a");
    let state = applyChanges(emptySharedState(), "1", [
      { op: "image", image: a },
      { op: "tag", reference: "docker.io/library/a:1", image: a.id },
    ]);
    expect(state.position).toBe("1");
    expect([...state.images.keys()]).toEqual([a.id]);
    expect(state.references.get("docker.io/library/a:1")).toBe(a.id);
    state = applyChanges(state, "2", [
      { op: "untag", reference: "docker.io/library/a:1" },
      { op: "untag", reference: "docker.io/library/never:1" },
    ]);
    expect(state.references.size).toBe(0);
    expect(state.images.size).toBe(1);
  });

  test("a tag of an image not (yet) in the state is kept: the image's record may come later", () => {
    const b = image("b");
    const tagged = applyChanges(emptySharedState(), "1", [{ op: "tag", reference: "docker.io/library/b:1", image: b.id }]);
    expect(tagged.references.get("docker.io/library/b:1")).toBe(b.id);
    const both = applyChanges(tagged, "2", [{ op: "image", image: b }]);
    expect(both.images.get(b.id)).toEqual(b);
    expect(both.references.get("docker.io/library/b:1")).toBe(b.id);
  });

  test("delete-image drops the image only once no reference points at it: a tag it did not untag keeps it", () => {
    const [a, b] = [image("a"), image("b")];
    const state = applyRecords(emptySharedState(), [
      {
        name: "1",
        changes: [
          { op: "image", image: a },
          { op: "image", image: b },
          { op: "tag", reference: "r/a:1", image: a.id },
          { op: "tag", reference: "r/a:2", image: a.id },
          { op: "tag", reference: "r/b:1", image: b.id },
        ],
      },
      {
        name: "2",
        changes: [
          { op: "untag", reference: "r/a:1" },
          { op: "delete-image", image: a.id },
        ],
      },
    ]);
    expect([...state.images.keys()]).toEqual([a.id, b.id]);
    expect([...state.references]).toEqual([
      ["r/a:2", a.id],
      ["r/b:1", b.id],
    ]);
    const gone = applyChanges(state, "3", [
      { op: "untag", reference: "r/a:2" },
      { op: "delete-image", image: a.id },
    ]);
    expect([...gone.images.keys()]).toEqual([b.id]);
    expect([...gone.references]).toEqual([["r/b:1", b.id]]);
    expect(gone.position).toBe("3");
  });

  test("states are never modified: an earlier state stays as it was", () => {
    const a = image("a");
    const before = applyChanges(emptySharedState(), "1", [{ op: "image", image: a }]);
    const after = applyChanges(before, "2", [{ op: "delete-image", image: a.id }]);
    expect(before.images.size).toBe(1);
    expect(after.images.size).toBe(0);
    expect(applyRecords(before, [])).toBe(before);
  });

  test("snapshots are canonical: the same state built in another order, with keys in another order, gives the same bytes", () => {
    const [a, b] = [image("a"), image("b")];
    const reordered = Object.fromEntries(Object.entries(b).reverse()) as unknown as typeof b;
    const one = applyChanges(emptySharedState(), "9", [
      { op: "image", image: a },
      { op: "image", image: b },
      { op: "tag", reference: "x:1", image: a.id },
      { op: "tag", reference: "w:1", image: b.id },
    ]);
    const two = applyChanges(emptySharedState(), "9", [
      { op: "tag", reference: "w:1", image: b.id },
      { op: "image", image: reordered },
      { op: "tag", reference: "x:1", image: a.id },
      { op: "image", image: a },
    ]);
    expect(Buffer.from(encodeSnapshot(one)).equals(Buffer.from(encodeSnapshot(two)))).toBe(true);
    const parsed = parseSnapshot(encodeSnapshot(one))!;
    expect(parsed.position).toBe("9");
    expect([...parsed.references]).toEqual([
      ["w:1", b.id],
      ["x:1", a.id],
    ]);
  });

  test("bodies that are not records or snapshots do not parse", () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    for (const s of ["", "{", "null", "[]", '{"v":2,"host":"h","at":"","changes":[]}', '{"v":1,"host":"h","at":"","changes":[{"op":"rename"}]}']) {
      expect(parseChangeRecord(bytes(s))).toBeUndefined();
      expect(parseSnapshot(bytes(s))).toBeUndefined();
    }
    expect(parseChangeRecord(new Uint8Array([0xff, 0xfe]))).toBeUndefined();
  });
});
