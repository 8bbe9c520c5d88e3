// What the console calls a document's type: a name people use, never a raw MIME type.

import type { Doc } from './api.ts';

const FORMATS: Record<string, string> = { pdf: 'PDF', docx: 'Word', html: 'HTML', markdown: 'Markdown', text: 'Plain text', xml: 'XML', image: 'Image' };
/** Before a document is parsed only its upload's MIME type is known: a name people use, not `application/vnd.openxml…`. */
const MIME_TYPES: Record<string, string> = {
  'application/pdf': 'PDF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word',
  'application/msword': 'Word (old .doc)',
  'text/html': 'HTML',
  'text/markdown': 'Markdown',
  'text/plain': 'Plain text',
  'application/xml': 'XML',
  'text/xml': 'XML',
  'application/jats+xml': 'XML (journal article)',
  'image/png': 'Image',
  'image/jpeg': 'Image',
};

export function formatLabel(doc: Pick<Doc, 'format' | 'mimeType'>): string {
  if (doc.format) return doc.mimeType === 'application/jats+xml' ? MIME_TYPES[doc.mimeType]! : (FORMATS[doc.format] ?? doc.format);
  if (!doc.mimeType) return '—';
  // An unknown type is shown by its subtype, cut short, so it never widens the table.
  const subtype = doc.mimeType.split('/')[1] ?? doc.mimeType;
  return MIME_TYPES[doc.mimeType] ?? (subtype.length > 16 ? `${subtype.slice(0, 15)}…` : subtype);
}
