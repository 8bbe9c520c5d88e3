/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts, whichever comes
 * first. The work itself is not stopped here: callers pair this with whatever actually halts it
 * (terminating the OCR thread, cancelling a render), because a terminated worker's pending
 * replies simply never arrive and would otherwise leave the caller waiting forever.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
