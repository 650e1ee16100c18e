import type { Ca } from './ca.ts';

/*
 * CRL partitions. Each certificate of a partitioned CA gets a number n, taken from blocks of numbers
 * that nodes reserve in the database, and goes to partition p{n / partition size}, whose CRL its
 * distribution point names. Issuance numbers certificates, the CRL updater builds each partition
 * numbered so far: both use these rules.
 */

/** Certificates per CRL partition, unless configured (PRIVATECA_CRL_PARTITION_SIZE). */
export const DEFAULT_PARTITION_SIZE = 100_000;

/** Partition numbers a node takes at a time: a divisor of the partition size, at most 1,000. */
export const partitionBlockSize = (size: number): number => (size % 1000 === 0 ? 1000 : size <= 1000 ? size : 1);

/** The partition of certificate number n (docs/api.md: [a-z0-9-]{1,32}): p0, p1, … */
export const partitionName = (n: number, size: number): string => `p${Math.floor(n / size)}`;

/** True when the CA's certificates each name a partition CRL. */
export const isPartitioned = (ca: Pick<Ca, 'revocation'>): boolean => ca.revocation.crl.enabled && ca.revocation.crl.partitioned;

/** Every partition that certificates of the CA may name, given the blocks of numbers taken so far. */
export function partitionsOf(ca: Pick<Ca, 'partitionBlocks'>, size: number): string[] {
  const numbered = ca.partitionBlocks * partitionBlockSize(size);
  const out: string[] = [];
  for (let n = 0; n < numbered; n += size) out.push(partitionName(n, size));
  return out;
}
