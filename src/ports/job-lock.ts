/** Runs a job on one node at a time across every node sharing the database (CRL builds). */
export interface JobLock {
  run<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
