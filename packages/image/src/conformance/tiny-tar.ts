const block = 512;

function field(header: Uint8Array, offset: number, length: number, value: string): void {
  header.set(new TextEncoder().encode(value).subarray(0, length), offset);
}

const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, "0")}\0`;

/**
 * A ustar archive holding one regular file, as GNU tar writes it: header, content padded to a
 * block, two zero blocks. Enough for a real layer store to register a distinct layer per name
 * without a tar library.
 */
export function tinyTar(name: string, content: string): Uint8Array {
  const body = new TextEncoder().encode(content);
  const padded = Math.ceil(body.byteLength / block) * block;
  const tar = new Uint8Array(block + padded + 2 * block);
  const header = tar.subarray(0, block);
  field(header, 0, 100, name);
  field(header, 100, 8, octal(0o644, 8));
  field(header, 108, 8, octal(0, 8));
  field(header, 116, 8, octal(0, 8));
  field(header, 124, 12, octal(body.byteLength, 12));
  field(header, 136, 12, octal(1577934245, 12)); // 2020-01-02T03:04:05Z: the same bytes every run
  field(header, 148, 8, "        "); // the checksum counts its own field as spaces
  field(header, 156, 1, "0");
  field(header, 257, 6, "ustar\0");
  field(header, 263, 2, "00");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  tar.set(body, block);
  return tar;
}
