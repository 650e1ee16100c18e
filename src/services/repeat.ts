/**
 * Runs `fn` `ms` after the end of its previous run (so runs never overlap), reporting a failure to
 * `onError` and carrying on, until the returned stop. Its timer does not keep the process alive.
 */
export function repeatAfter(ms: number, fn: () => Promise<unknown>, onError: (e: unknown) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    timer = setTimeout(async () => {
      try {
        await fn();
      } catch (e) {
        onError(e);
      }
      if (!stopped) schedule();
    }, ms);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
