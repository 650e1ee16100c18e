import { partitionBlockSize, partitionName } from '../domain/crl-partition.ts';

/**
 * Numbers the certificates one node issues for one partitioned CA, from blocks of numbers taken from
 * the database (one round trip per block), and names each one's CRL partition. `opened` is told when
 * a block starts a partition that no certificate named before, which then needs its first CRL.
 */
export class PartitionAllocator {
  #next = 0;
  #end = 0;
  #taking?: Promise<void>;
  readonly #blockSize: number;

  constructor(
    private readonly options: {
      partitionSize: number;
      /** Takes the CA's next block of numbers; returns its index (0, 1, …). */
      takeBlock: () => Promise<number>;
      opened: () => void;
    },
  ) {
    this.#blockSize = partitionBlockSize(options.partitionSize);
  }

  async next(): Promise<string> {
    while (this.#next >= this.#end) {
      this.#taking ??= this.options.takeBlock().then(
        (block) => {
          this.#next = block * this.#blockSize;
          this.#end = this.#next + this.#blockSize;
          this.#taking = undefined;
          if (this.#next % this.options.partitionSize === 0) this.options.opened();
        },
        (e: unknown) => {
          this.#taking = undefined;
          throw e;
        },
      );
      await this.#taking;
    }
    return partitionName(this.#next++, this.options.partitionSize);
  }
}
