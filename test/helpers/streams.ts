import assert from 'node:assert/strict';

/**
 * Reads a server-sent event stream as it arrives: what came so far, and when (if) the server
 * ended it — `ended(ms)` resolves to that moment (performance.now()) or null after `ms`.
 */
export async function openStream(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return performance.now();
      text += new TextDecoder().decode(value);
    }
  })();
  return {
    get text() {
      return text;
    },
    ended: (ms: number) => Promise.race([done, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]),
    cancel: () => reader.cancel().catch(() => {}),
  };
}
