import type { StoreService } from "@store/service";
import type { DaemonOptions } from "./daemon-options";
import type { EventLog } from "./events";
import type { Metrics } from "./metrics";

/** What every route works with: the one store the daemon holds open, its events and options. */
export interface DaemonContext {
  readonly service: StoreService;
  readonly events: EventLog;
  readonly options: DaemonOptions;
  readonly metrics: Metrics;
}
