/** A bounded min-heap keeping the k best items offered; the root is the worst one kept. */
export class TopK<T> {
  readonly #k: number;
  readonly #better: (a: T, b: T) => boolean;
  readonly #heap: T[] = [];

  /** `better(a, b)`: whether a ranks strictly before b. */
  constructor(k: number, better: (a: T, b: T) => boolean) {
    this.#k = k;
    this.#better = better;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** The worst item kept, once k are kept: anything not better than it cannot enter. */
  get floor(): T | undefined {
    return this.#heap.length === this.#k ? this.#heap[0] : undefined;
  }

  offer(item: T): void {
    const heap = this.#heap;
    const better = this.#better;
    if (heap.length < this.#k) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!better(heap[parent]!, heap[i]!)) break;
        [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
        i = parent;
      }
    } else if (this.#k > 0 && better(item, heap[0]!)) {
      heap[0] = item;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let worst = i;
        if (left < heap.length && better(heap[worst]!, heap[left]!)) worst = left;
        if (right < heap.length && better(heap[worst]!, heap[right]!)) worst = right;
        if (worst === i) break;
        [heap[worst], heap[i]] = [heap[i]!, heap[worst]!];
        i = worst;
      }
    }
  }

  /** Best first. */
  sorted(): T[] {
    return [...this.#heap].sort((a, b) => (this.#better(a, b) ? -1 : this.#better(b, a) ? 1 : 0));
  }
}
