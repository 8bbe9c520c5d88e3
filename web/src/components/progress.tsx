interface Props {
  /** 0..1 */
  value: number;
  label: string;
  /** Spoken and shown next to the bar, e.g. "Uploading 40%". */
  text?: string;
}

/** A native <progress>: screen readers get its value without ARIA, and its width needs no inline style. */
export function ProgressBar({ value, label, text }: Props) {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0));
  const percent = Math.round(clamped * 100);
  return (
    <span class="progress">
      <progress max={100} value={percent} aria-label={label}>
        {percent}%
      </progress>
      <span class="progress-text">{text ?? `${percent}%`}</span>
    </span>
  );
}
