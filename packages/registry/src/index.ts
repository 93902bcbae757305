export type { Descriptor, Platform } from "./descriptor";
export type { FetchBlobOptions, FetchedManifest, PushBlobOptions, Repository, RequestOptions, RetryNotice } from "./repository";
