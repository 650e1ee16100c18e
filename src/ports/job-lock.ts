/** Runs a job on one node at a time across every node sharing the database (CRL builds). */
export interface JobLock {
  run<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Runs fn unless another node (or this one) is running the job now: then undefined, at once. */
  tryRun<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
}
