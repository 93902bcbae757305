import { compareTime } from "@store/image";
import type { ParsedImageConfig } from "@store/image";

/**
 * moby's checkValidParent: an image may only be linked to a parent whose history is its own
 * minus the last entry (or when neither has history, which is not mandatory).
 */
export function checkValidParent(img: ParsedImageConfig, parent: ParsedImageConfig): boolean {
  if (img.history.length === 0 && parent.history.length === 0) return true;
  if (img.history.length - parent.history.length !== 1) return false;
  return parent.history.every((hP, i) => {
    const hC = img.history[i]!;
    return (
      compareTime(hP.created, hC.created) === 0 &&
      hP.author === hC.author &&
      hP.createdBy === hC.createdBy &&
      hP.comment === hC.comment &&
      hP.emptyLayer === hC.emptyLayer
    );
  });
}
