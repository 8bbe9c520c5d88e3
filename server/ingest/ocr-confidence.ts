import type { OcrResult } from './run.ts';

/** Below this mean word confidence, OCR'd text is more likely wrong than right (a scan in another language, say). */
export const LOW_CONFIDENCE = 0.6;

/**
 * A note for the reader when OCR was more likely wrong than right (a scan in a language it was not
 * given reads as confident-looking gibberish): the mean word confidence, weighted by text length.
 */
export function lowConfidenceNote(results: readonly OcrResult[], languages: readonly string[]): string | null {
  const chars = results.reduce((sum, r) => sum + r.text.length, 0);
  if (chars === 0) return null;
  const confidence = results.reduce((sum, r) => sum + r.confidence * r.text.length, 0) / chars;
  if (confidence >= LOW_CONFIDENCE) return null;
  const pages = results.length === 1 ? '1 page' : `${results.length} pages`;
  return `OCR was unsure of what it read (mean confidence ${Math.round(confidence * 100)} %): the text of ${pages} may be wrong; if the scan is not in ${languages.join('+')}, choose its language in the knowledge base's settings (OCR languages) and re-index`;
}
