/** The digest algorithms this package registers; sha256 is canonical. */
export type Algorithm = "sha256" | "sha384" | "sha512" | "blake3";

export const Canonical: Algorithm = "sha256";

/** Length in hex characters of each registered algorithm's encoded part. */
const hexLength: Readonly<Record<Algorithm, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
  blake3: 64,
};

export const algorithms: readonly Algorithm[] = Object.keys(hexLength) as Algorithm[];

export function isAlgorithm(name: string): name is Algorithm {
  return Object.hasOwn(hexLength, name);
}

export function encodedLength(algorithm: Algorithm): number {
  return hexLength[algorithm];
}
