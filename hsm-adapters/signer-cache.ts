/**
 * Loads each key's signer once and shares it between concurrent callers. A load that fails is
 * forgotten, so that the next call tries again (the key store may be back by then).
 */
export class SignerCache<S> {
  private readonly signers = new Map<string, Promise<S>>();

  get(keyUri: string, load: (keyUri: string) => Promise<S>): Promise<S> {
    let s = this.signers.get(keyUri);
    if (!s) {
      s = load(keyUri);
      this.signers.set(keyUri, s);
      s.catch(() => this.signers.delete(keyUri));
    }
    return s;
  }

  delete(keyUri: string): void {
    this.signers.delete(keyUri);
  }

  clear(): void {
    this.signers.clear();
  }
}
