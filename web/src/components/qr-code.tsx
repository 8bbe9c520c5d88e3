import { encode } from 'uqr';
import { useMemo } from 'preact/hooks';

interface Props {
  /** What the code carries (an otpauth:// URI). */
  value: string;
  /** What it is, for screen readers; the text it carries is shown beside it for manual entry. */
  label: string;
}

/** A QR code drawn as one SVG path of its dark modules, with the quiet zone scanners need. */
export function QrCode({ value, label }: Props) {
  const { size, path } = useMemo(() => {
    const qr = encode(value, { ecc: 'M', border: 4 });
    const parts: string[] = [];
    qr.data.forEach((row, y) =>
      row.forEach((dark, x) => {
        if (dark) parts.push(`M${x} ${y}h1v1h-1z`);
      }),
    );
    return { size: qr.size, path: parts.join('') };
  }, [value]);
  return (
    <svg class="qr-code" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} width={size * 5} height={size * 5} shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
