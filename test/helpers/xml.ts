export interface XmlDocument {
  readonly root: string;
  readonly rootAttributes: Readonly<Record<string, string>>;
  /** Every text node, entities decoded, blank ones left out. */
  readonly texts: string[];
}

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const SKIPPED = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/y;
const ATTRIBUTE = /([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const BAD_AMPERSAND = /&(?!(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);)/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#\d+|[A-Za-z]+);/g, (_, name: string) =>
    name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16)) : name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : (ENTITIES[name] ?? `&${name};`),
  );
}

/**
 * A strict well-formedness check for the XML lockstep writes (SVG without a DTD; CDATA sections are skipped): one root,
 * every tag closed in order, attributes quoted, '&' only in entities. Throws on the first fault.
 */
export function parseXml(text: string): XmlDocument {
  const open: string[] = [];
  const texts: string[] = [];
  let root: string | null = null;
  let rootAttributes: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    if (text[at] !== '<') {
      const end = text.indexOf('<', at) === -1 ? text.length : text.indexOf('<', at);
      const content = text.slice(at, end);
      if (BAD_AMPERSAND.test(content)) throw new Error(`stray '&' in text at ${at}`);
      if (content.trim() !== '') {
        if (open.length === 0) throw new Error(`text outside the root element at ${at}`);
        texts.push(decode(content));
      }
      at = end;
      continue;
    }
    SKIPPED.lastIndex = at;
    if (SKIPPED.exec(text) !== null) {
      at = SKIPPED.lastIndex;
      continue;
    }
    TAG.lastIndex = at;
    const tag = TAG.exec(text);
    if (tag === null) throw new Error(`malformed tag at ${at}: ${text.slice(at, at + 40)}`);
    const [, closing, name, attributes, selfClosing] = tag;
    if (BAD_AMPERSAND.test(attributes!)) throw new Error(`stray '&' in an attribute of <${name}>`);
    if (closing) {
      const expected = open.pop();
      if (expected !== name) throw new Error(`</${name}> at ${at} closes <${expected}>`);
    } else {
      if (open.length === 0) {
        if (root !== null) throw new Error(`a second root element <${name}> at ${at}`);
        root = name!;
        rootAttributes = Object.fromEntries([...attributes!.matchAll(ATTRIBUTE)].map((m) => [m[1]!, decode(m[2] ?? m[3]!)]));
      }
      if (!selfClosing) open.push(name!);
    }
    at = TAG.lastIndex;
  }
  if (root === null) throw new Error('no root element');
  if (open.length > 0) throw new Error(`<${open[open.length - 1]}> is never closed`);
  return { root, rootAttributes, texts };
}
