export { armFsFaults, fsOps, installFsFaults } from "./fs-faults";
export type { FiredFault, FsFault, FsFaultPlan, FsFaults, FsOp } from "./fs-faults";
