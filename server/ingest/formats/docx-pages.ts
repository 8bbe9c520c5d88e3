// Word files have no pages of their own, but Word records where it broke pages when it last laid
// the document out (w:lastRenderedPageBreak): those markers give the pages a reader saw. Without
// them only the author's breaks are known (page breaks, "page break before" paragraphs, section
// breaks), which undercount wherever text simply ran onto the next page. Both counts are kept
// while document.xml streams by; which one the document's blocks carry is decided at the end.

import type { Block, PageInfo } from '../types.ts';

/** Where a block begins, by each count. */
export interface PagePlace {
  rendered: number;
  explicit: number;
}

export class DocxPages {
  #rendered = 1;
  #explicit = 1;
  #renderedMarks = 0;
  #explicitMarks = 0;
  #text = false;
  readonly #places: Array<{ block: Block; place: PagePlace }> = [];

  /** w:lastRenderedPageBreak: a page ended here when Word last laid the document out. */
  rendered(): void {
    this.#rendered++;
    this.#renderedMarks++;
  }

  /** An author's page break, "page break before" or section break. One before any text makes no page. */
  explicit(): void {
    if (!this.#text) return;
    this.#explicit++;
    this.#explicitMarks++;
  }

  /** Text has been read: later breaks start new pages. */
  text(): void {
    this.#text = true;
  }

  here(): PagePlace {
    return { rendered: this.#rendered, explicit: this.#explicit };
  }

  /** `block` begins at `place`. */
  place(block: Block | undefined, place: PagePlace): void {
    if (block) this.#places.push({ block, place });
  }

  /**
   * Gives each placed block its page and returns the document's pages and what to tell the reader:
   * Word's own pages when it left markers, else the author's breaks (said to undercount), else none.
   */
  finish(): { pages?: PageInfo[]; warning?: string } {
    const count = this.#renderedMarks > 0 ? 'rendered' : this.#explicitMarks > 0 ? 'explicit' : null;
    if (count === null) return {};
    for (const { block, place } of this.#places) block.page = place[count];
    const total = count === 'rendered' ? this.#rendered : this.#explicit;
    const pages = Array.from({ length: total }, (_, i) => ({ number: i + 1 }));
    if (count === 'rendered') return { pages };
    return {
      pages,
      warning: 'Page numbers are approximate: Word saved no page layout in this file, so pages are counted from its page and section breaks only and may be lower than the printed ones',
    };
  }
}
