/**
 * `text` with every control character a terminal would act on written as an escape instead:
 * C0 controls other than tab and newline, DEL and the C1 range as `\xNN`. Error lines quote what
 * the user, an archive or a registry supplied (names, tags, paths, JSON snippets); an `ESC[2J`
 * in a tar entry's name must print as text, not clear the user's screen.
 */
export function terminalSafe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
