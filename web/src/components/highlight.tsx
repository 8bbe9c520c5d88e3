import type { Ref } from 'preact';
import { splitMarked, type Range } from './text-ranges.ts';

interface MarkedProps {
  text: string;
  ranges: readonly Range[];
  /** Attached to the first <mark>, e.g. to scroll to or focus it. */
  markRef?: Ref<HTMLElement> | undefined;
  markClass?: string;
}

/** Text with <mark>ed ranges, built from text nodes only (never innerHTML with server text). */
export function Marked({ text, ranges, markRef, markClass }: MarkedProps) {
  let first = true;
  return (
    <>
      {splitMarked(text, ranges).map((s, i) => {
        if (!s.marked) return s.text;
        const ref = first ? markRef : undefined;
        first = false;
        return (
          <mark key={i} ref={ref} class={markClass} tabIndex={ref ? -1 : undefined}>
            {s.text}
          </mark>
        );
      })}
    </>
  );
}
