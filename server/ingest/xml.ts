// Safe XML reading for Office parts. saxes never fetches anything and has no DTD support at all;
// on top of that any DOCTYPE is refused outright, so external entities (XXE) and entity
// expansion bombs cannot even be declared. Element and attribute names are rewritten to fixed
// aliases by namespace URI (e.g. "w:p" whatever prefix the producer chose) without paying for
// saxes' full namespace mode, which is three times slower on large documents.

import { SaxesParser } from 'saxes';
import { decodeWith, detectBom } from './decode.ts';
import { IngestError } from './types.ts';

export interface XmlHandlers {
  open?(name: string, attributes: Record<string, string>): void;
  close?(name: string): void;
  text?(text: string): void;
}

export interface XmlOptions {
  /** Namespace URI → alias used in the names handed to the handlers. */
  aliases: Record<string, string>;
  /** Called between chunks so a long part can be cancelled or time out. */
  checkpoint?: () => void;
}

const CHUNK = 1 << 20;

/** XML text from its bytes: a BOM, else the declared encoding, else UTF-8. */
export function decodeXml(bytes: Uint8Array): string {
  const bom = detectBom(bytes);
  if (bom) return decodeWith(bytes.subarray(bom.length), bom.encoding);
  const declaration = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
    new TextDecoder('latin1').decode(bytes.subarray(0, 200)),
  );
  return decodeWith(bytes, declaration?.[1] ?? 'utf-8');
}

export function parseXml(bytes: Uint8Array, part: string, options: XmlOptions, handlers: XmlHandlers): void {
  const prefixes = new Map<string, string>();
  // Producers nearly always use the conventional prefixes; then names pass through untouched.
  let renaming = false;
  const aliasNames = new Set(Object.values(options.aliases));
  // Unprefixed attributes belong to no namespace, unlike unprefixed elements.
  const rename = (name: string, attribute = false): string => {
    const colon = name.indexOf(':');
    if (attribute && colon < 0) return name;
    const alias = prefixes.get(colon < 0 ? '' : name.slice(0, colon));
    return alias === undefined ? name : `${alias}:${name.slice(colon + 1)}`;
  };
  const parser = new SaxesParser({ xmlns: false });
  parser.on('error', (error) => {
    throw new IngestError('corrupt', `${part} is not well-formed XML: ${error.message}`, { cause: error });
  });
  parser.on('doctype', () => {
    throw new IngestError('unsafe', `${part} declares a DOCTYPE, which Office documents never need; refusing it (possible XXE)`);
  });
  parser.on('opentag', (tag) => {
    const attributes = tag.attributes as Record<string, string>;
    for (const name in attributes) {
      if (!name.startsWith('xmlns')) continue;
      const prefix = name.slice(6);
      // A prefix bound to some other namespace must not pass for one of ours ("w" bound elsewhere).
      const alias = options.aliases[attributes[name] ?? ''] ?? (aliasNames.has(prefix) ? `?${prefix}` : undefined);
      if (alias === undefined) continue;
      prefixes.set(prefix, alias);
      renaming ||= alias !== prefix;
    }
    if (!renaming) {
      handlers.open?.(tag.name, attributes);
      return;
    }
    const renamed: Record<string, string> = {};
    for (const name in attributes) renamed[rename(name, true)] = attributes[name] ?? '';
    handlers.open?.(rename(tag.name), renamed);
  });
  if (handlers.close) {
    const close = handlers.close;
    parser.on('closetag', (tag) => close(renaming ? rename(tag.name) : tag.name));
  }
  if (handlers.text) {
    parser.on('text', handlers.text);
    parser.on('cdata', handlers.text);
  }
  const xml = decodeXml(bytes);
  for (let at = 0; at < xml.length; at += CHUNK) {
    options.checkpoint?.();
    parser.write(xml.slice(at, at + CHUNK));
  }
  parser.close();
}
