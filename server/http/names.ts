import { z } from 'zod';

// Controls, and the marks that reorder text on screen: `invoice\u202Egpj.exe` reads as
// "invoiceexe.jpg" wherever the name is shown, cited or spoken.
// oxlint-disable-next-line no-control-regex -- finding control characters is the purpose
export const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// oxlint-disable-next-line no-control-regex -- as above, keeping line breaks and tabs
const UNSHOWABLE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const HIDDEN_MESSAGE = 'must not contain control characters, bidirectional-override marks or broken Unicode';

/** True when `text` is well-formed Unicode (no lone surrogates) without characters that hide or reorder it. */
function showable(text: string, pattern: RegExp): boolean {
  pattern.lastIndex = 0;
  return text.isWellFormed() && !pattern.test(text);
}

/** A one-line name people see, cite and hear: trimmed, composed (NFC), nothing hidden or reordered. */
export function displayName(max: number) {
  return z
    .string()
    .trim()
    .normalize('NFC')
    .min(1)
    .max(max)
    .refine((s) => showable(s, UNSHOWABLE), HIDDEN_MESSAGE);
}

/** Free text (a description): as `displayName`, but line breaks and tabs are kept. */
export function displayText(max: number) {
  return z
    .string()
    .trim()
    .normalize('NFC')
    .max(max)
    .refine((s) => showable(s, UNSHOWABLE_IN_TEXT), HIDDEN_MESSAGE);
}
