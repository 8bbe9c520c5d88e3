// Renders only the pages of a long document near the viewport. The pages above and below stand
// in as padding of their estimated height (see windowing.ts), so the scrollbar is the length of
// the whole document; rendered pages are measured and the estimates learn from them. The window
// scrolls, not an inner box, so keyboard scrolling, the browser's scroll restoration and the
// sticky header behave as on any other page.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { around, offsets, pageHeights, pagesBetween, roughLines, sameRange, type PageRange, type PageSize } from './windowing.ts';

/** Where to open: a page index and the element to scroll to and focus once that page is rendered. */
export interface PagedTarget {
  index: number;
  /** Changes whenever the target does (another passage, another page). */
  key: string;
  element(): HTMLElement | null;
}

interface Props {
  sizes: readonly PageSize[];
  /** Every page rendered (the browser's find and printing see all the text). */
  all: boolean;
  target: PagedTarget | null;
  pageClass: string;
  renderPage(index: number): ComponentChildren;
}

/** A rendered page's position on screen, to keep it still when what is above it changes. */
interface Anchor {
  index: number;
  top: number;
}

const pagesIn = (box: HTMLElement) => [...box.children] as HTMLElement[];

function anchorOf(box: HTMLElement): Anchor | null {
  const pages = pagesIn(box);
  const page = pages.find((p) => p.getBoundingClientRect().bottom > 0) ?? pages.at(-1);
  return page ? { index: Number(page.dataset['index']), top: page.getBoundingClientRect().top } : null;
}

/** Characters per line of the column, from its width and font size (about half an em per character). */
function charsPerLine(box: HTMLElement): number {
  const em = parseFloat(getComputedStyle(box).fontSize) || 16;
  return Math.floor(box.clientWidth / (em * 0.5));
}

/** The pages a scroll position needs: the viewport and a screen either side. */
function wanted(box: HTMLElement, starts: readonly number[]): PageRange {
  const top = -box.getBoundingClientRect().top;
  const screen = window.innerHeight;
  return pagesBetween(starts, top - screen, top + 2 * screen);
}

export function PagedText({ sizes, all, target, pageClass, renderPage }: Props) {
  const count = sizes.length;
  const box = useRef<HTMLDivElement>(null);
  const measured = useRef(new Map<number, number>());
  const [version, setVersion] = useState(0);
  const [perLine, setPerLine] = useState(80);
  const [range, setRange] = useState<PageRange>(() => around(target?.index ?? 0, count));
  const pending = useRef<string | null>(target?.key ?? null);
  const anchor = useRef<Anchor | null>(null);

  const rough = useMemo(() => sizes.map((s) => roughLines(s, perLine)), [sizes, perLine]);
  // `version` counts measurements, which live in a ref.
  const starts = useMemo(() => offsets(pageHeights(rough, measured.current)), [rough, version]);
  const [first, last] = all ? [0, count - 1] : range;
  const current = useRef({ starts, range, all });
  current.current = { starts, range, all };

  // A new target (another passage, "Go to page"): render around it; the effect below scrolls to it.
  useLayoutEffect(() => {
    if (!target) return;
    pending.current = target.key;
    if (!all && (target.index < range[0] || target.index > range[1])) setRange(around(target.index, count));
  }, [target?.key]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    let changed = false;
    if (!all) {
      for (const page of pagesIn(el)) {
        const i = Number(page.dataset['index']);
        const h = page.getBoundingClientRect().height;
        if (Math.abs((measured.current.get(i) ?? -1) - h) > 0.5) {
          measured.current.set(i, h);
          changed = true;
        }
      }
    }
    const goal = pending.current && target?.key === pending.current ? target.element() : null;
    if (goal) {
      // Straight there, never smoothly: a smooth scroll over hundreds of pages passes through
      // placeholders, rendering pages on the way, and arrives seconds later.
      goal.scrollIntoView({ block: 'start' });
      goal.focus({ preventScroll: true });
      pending.current = null;
      anchor.current = null;
    } else if (pending.current && target && target.index >= first && target.index <= last) {
      pending.current = null; // rendered, but nothing to focus: stop waiting for it
    } else if (anchor.current) {
      const page = pagesIn(el).find((p) => Number(p.dataset['index']) === anchor.current?.index);
      const moved = page ? page.getBoundingClientRect().top - anchor.current.top : 0;
      // Pages above got their real height: keep what the reader sees where it was.
      if (Math.abs(moved) > 0.5) window.scrollBy(0, moved);
      anchor.current = null;
    }
    if (changed) {
      anchor.current = anchorOf(el);
      setVersion((v) => v + 1);
    }
  });

  // Scrolling and resizing choose the pages to render.
  useEffect(() => {
    let frame = 0;
    let width = -1;
    const update = () => {
      frame = 0;
      const el = box.current;
      const now = current.current;
      if (!el || now.all || pending.current) return;
      const next = wanted(el, now.starts);
      if (sameRange(next, now.range)) return;
      anchor.current = anchorOf(el);
      setRange(next);
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(update);
    };
    // Another column width rewraps every page: measurements start over (the first call is the
    // initial width, which only sets the characters per line).
    const resized = new ResizeObserver(() => {
      const el = box.current;
      if (!el || el.clientWidth === width) return;
      if (width >= 0) measured.current.clear();
      width = el.clientWidth;
      anchor.current ??= anchorOf(el);
      setPerLine(charsPerLine(el));
      setVersion((v) => v + 1);
      schedule();
    });
    if (box.current) resized.observe(box.current);
    window.addEventListener('scroll', schedule, { passive: true });
    return () => {
      cancelAnimationFrame(frame);
      resized.disconnect();
      window.removeEventListener('scroll', schedule);
    };
  }, []);

  // New measurements or "show all" switched off may call for other pages.
  useEffect(() => {
    if (all || pending.current) return;
    const el = box.current;
    if (!el) return;
    const next = wanted(el, starts);
    if (!sameRange(next, range)) {
      anchor.current = anchorOf(el);
      setRange(next);
    }
  }, [starts, all]);

  const pages: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    pages.push(
      <div key={i} class={pageClass} data-index={i}>
        {renderPage(i)}
      </div>,
    );
  }
  const padding = all ? undefined : { paddingTop: `${starts[first] ?? 0}px`, paddingBottom: `${(starts[count] ?? 0) - (starts[last + 1] ?? 0)}px` };
  return (
    <div ref={box} class={all ? 'doc-pages doc-pages-all' : 'doc-pages'} style={padding}>
      {pages}
    </div>
  );
}
