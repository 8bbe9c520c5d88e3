// The choices a knowledge base's settings offer for reading its scans: the server default, each
// installed language alone, and English with each other one (for documents that mix them).
// A setting saved with another combination stays on offer, so opening the form never changes it.

export interface OcrChoice {
  /** Tesseract codes joined by "+", as the server's OCR_LANGUAGES writes them; '' for the server default. */
  value: string;
  label: string;
}

const names = new Intl.DisplayNames(['en'], { type: 'language' });

/** "French" for fra; a code Intl does not know (chi_sim, deu_latf) as it is. */
export function languageName(code: string): string {
  try {
    const name = names.of(code);
    return name && name !== code ? name : code;
  } catch {
    return code;
  }
}

const listOf = (codes: readonly string[]) => codes.map(languageName).join(' and ');

export function ocrChoices(ocr: { default: readonly string[]; installed: readonly string[] }, current: readonly string[] | null): OcrChoice[] {
  const choices: OcrChoice[] = [{ value: '', label: `Server default (${listOf(ocr.default)})` }];
  for (const code of ocr.installed) choices.push({ value: code, label: languageName(code) });
  if (ocr.installed.includes('eng')) {
    for (const code of ocr.installed) if (code !== 'eng') choices.push({ value: `eng+${code}`, label: listOf(['eng', code]) });
  }
  const saved = current?.join('+');
  if (saved && !choices.some((c) => c.value === saved)) choices.push({ value: saved, label: listOf(current ?? []) });
  return choices;
}
