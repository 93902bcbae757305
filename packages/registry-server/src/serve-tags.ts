import type { IncomingMessage, ServerResponse } from "node:http";
import { ProtocolError } from "./protocol-error";
import type { RegistryContent, RequestScope } from "./registry-content";
import { sendJson } from "./send-body";

/**
 * `GET /v2/<name>/tags/list[?n=<n>&last=<tag>]`: the tags in lexical order, paged as distribution
 * pages them: those after `last`, at most `n`, and a `Link: <…?last=<t>&n=<n>>; rel="next"`
 * header while more remain. A bad `n` is 400 `PAGINATION_NUMBER_INVALID`.
 */
export async function serveTags(
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  query: URLSearchParams,
  content: RegistryContent,
  scope: RequestScope,
): Promise<void> {
  const unknown = () => new ProtocolError("NAME_UNKNOWN", { detail: { name } });
  const nText = query.get("n");
  let n: number | undefined;
  if (nText !== null && nText !== "") {
    if (!/^\d{1,9}$/.test(nText)) throw new ProtocolError("PAGINATION_NUMBER_INVALID", { detail: { n: nText.slice(0, 100) } });
    n = Number(nText);
  }
  if (content.listTags === undefined) throw unknown();
  const all = await content.listTags(name, scope);
  if (all === undefined) throw unknown();
  // Code-unit order, as Go's sort.Strings: tags are ASCII, so it is byte order too.
  let tags = [...new Set(all)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const last = query.get("last");
  if (last) tags = tags.filter((t) => t > last);
  const headers: Record<string, string> = {};
  if (n !== undefined && n < tags.length) {
    tags = tags.slice(0, n);
    if (n > 0) {
      const next = new URLSearchParams({ last: tags[n - 1]!, n: String(n) });
      headers.Link = `</v2/${name}/tags/list?${next}>; rel="next"`;
    }
  }
  sendJson(res, 200, { name, tags }, headers, req.method === "HEAD");
}
