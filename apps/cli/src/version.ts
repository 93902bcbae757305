/** The CLI's version, kept in step with package.json by hand (the bundle must not read files at run time). */
export const STORE_VERSION = "0.1.0";
