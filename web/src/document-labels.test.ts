import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLabel } from './document-labels.ts';

describe('document type labels', () => {
  it('names a type the way people do, never by a raw MIME type that widens the table', () => {
    assert.equal(formatLabel({ format: null, mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }), 'Word');
    assert.equal(formatLabel({ format: 'docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' }), 'Word');
    assert.equal(formatLabel({ format: 'xml', mimeType: 'application/jats+xml' }), 'XML (journal article)');
    assert.equal(formatLabel({ format: null, mimeType: 'application/pdf' }), 'PDF');
    assert.equal(formatLabel({ format: null, mimeType: 'application/vnd.ms-excel.sheet.macroEnabled.12' }), 'vnd.ms-excel.sh…');
    assert.equal(formatLabel({ format: null, mimeType: '' }), '—');
  });
});
