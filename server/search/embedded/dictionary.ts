// A shard's terms, numbered. Stored chunks and postings refer to terms by number, so loading a
// shard indexes arrays instead of hashing every term of every chunk again; only the dictionary
// itself is hashed once. A term no chunk holds any more leaves the dictionary (and its table),
// so deleted text does not survive as vocabulary.

export class TermDictionary {
  readonly #ids = new Map<string, number>();
  readonly #terms: Array<string | undefined> = [];

  get size(): number {
    return this.#ids.size;
  }

  id(term: string): number | undefined {
    return this.#ids.get(term);
  }

  term(id: number): string | undefined {
    return this.#terms[id];
  }

  /** Puts a stored entry back (loading). */
  restore(id: number, term: string): void {
    this.#ids.set(term, id);
    this.#terms[id] = term;
  }

  /** The numbers of `terms`, numbering new ones; `added` collects the new entries. */
  intern(terms: readonly string[], added: Array<{ id: number; term: string }>): Uint32Array {
    const ids = new Uint32Array(terms.length);
    terms.forEach((term, i) => {
      let id = this.#ids.get(term);
      if (id === undefined) {
        id = this.#terms.length;
        this.restore(id, term);
        added.push({ id, term });
      }
      ids[i] = id;
    });
    return ids;
  }

  forEachId(visit: (id: number) => void): void {
    for (const id of this.#ids.values()) visit(id);
  }

  forget(id: number): void {
    const term = this.#terms[id];
    if (term === undefined) return;
    this.#ids.delete(term);
    this.#terms[id] = undefined;
  }
}
