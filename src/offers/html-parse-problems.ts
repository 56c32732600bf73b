import {
  type DefaultTreeAdapterMap,
  defaultTreeAdapter,
  ErrorCodes,
  type ParserError,
  parse,
  parseFragment,
  type TreeAdapter,
} from 'parse5';

/**
 * What the parser reports or silently drops that refuses e-mail HTML. parse5 reports every departure
 * from the standard, and most are harmless and common (`a < b` in text is one). Refused are markup that
 * ends inside a tag (the rest of the message would vanish into it), what HTML readers are known to read
 * differently (a repeated attribute, attributes on an end tag, quotes, `=` or backticks in an unquoted
 * value), control characters, which readers drop or replace each in their own way, and start tags the
 * parser ignores where they stand (`<frameset>` after text, a second `<body>`, a cell outside a table):
 * a reader that does not ignore them would show what was never checked.
 */

/** C1 code points that Windows-1252 leaves undefined: a reference to one stays a control character. */
const UNMAPPED_C1 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

type Tree = DefaultTreeAdapterMap;
type Root = Tree['document'] | Tree['documentFragment'];
type ChildNode = Tree['childNode'];
type AnyElement = Tree['element'] | Tree['template'];

/**
 * parse5's tree, except that each run of text the tokenizer emits stays its own node instead of being
 * merged with the text before it: the text nodes' locations then cover exactly the characters that were
 * text, and what lies between them (an ignored tag) shows.
 */
export const textRunAdapter: TreeAdapter<Tree> = {
  ...defaultTreeAdapter,
  insertText(parent, text) {
    defaultTreeAdapter.appendChild(parent, defaultTreeAdapter.createTextNode(text));
  },
  insertTextBefore(parent, text, reference) {
    defaultTreeAdapter.insertBefore(parent, defaultTreeAdapter.createTextNode(text), reference);
  },
};

/** A problem at an offset into the parsed text. */
export interface ParseProblem {
  readonly offset: number;
  readonly message: string;
}

export function parseProblems(text: string, root: Root, errors: readonly ParserError[]): ParseProblem[] {
  const unclosed = errors.some((e) => e.code === ErrorCodes.eofInTag);
  const floor = lastTokenEnd(root);
  const problems = ignoredTags(text, root, unclosed ? floor : text.length);
  for (const e of errors) {
    const at = e.startOffset;
    switch (e.code) {
      case ErrorCodes.eofInTag:
        problems.push(unclosedTag(text, floor));
        break;
      case ErrorCodes.eofInDoctype:
        problems.push({
          offset: Math.max(0, text.lastIndexOf('<!', at)),
          message: 'declaration is not closed with >',
        });
        break;
      case ErrorCodes.duplicateAttribute: {
        // reported where the repeated name ends
        const name = /([^\t\n\f\r />"'=]+)[\t\n\f\r ]*$/.exec(text.slice(0, at));
        problems.push({
          offset: name?.index ?? at,
          message: `attribute "${name?.[1] ?? ''}" is repeated in one tag: readers differ on which one counts`,
        });
        break;
      }
      case ErrorCodes.endTagWithAttributes: {
        const start = Math.max(0, text.lastIndexOf('</', at));
        const name = /^<\/([^\t\n\f\r />]+)/.exec(text.slice(start))?.[1] ?? '';
        problems.push({ offset: start, message: `end tag </${name}> may not carry attributes` });
        break;
      }
      case ErrorCodes.unexpectedCharacterInUnquotedAttributeValue:
        problems.push({
          offset: at,
          message: 'an attribute value with " \' < = or ` must be quoted: readers split it differently',
        });
        break;
      case ErrorCodes.controlCharacterReference:
      case ErrorCodes.nullCharacterReference: {
        // reported where the reference ends; `&#150;` and its kind are Windows-1252 text, as browsers read it
        const ref = /&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?$/.exec(text.slice(0, at));
        const hex = ref?.[1];
        const n = Number.parseInt(hex ?? ref?.[2] ?? '0', hex === undefined ? 10 : 16);
        if (n >= 0x80 && n <= 0x9f && !UNMAPPED_C1.has(n)) break;
        problems.push({
          offset: ref?.index ?? at,
          message: `the character reference ${ref?.[0] ?? ''} stands for a control character, which is not allowed`,
        });
        break;
      }
      case ErrorCodes.unexpectedNullCharacter:
      case ErrorCodes.controlCharacterInInputStream: {
        const code = (text.codePointAt(at) ?? 0).toString(16).toUpperCase().padStart(4, '0');
        problems.push({ offset: at, message: `the control character U+${code} is not allowed` });
        break;
      }
    }
  }
  return problems;
}

/**
 * Start tags the parser kept no trace of: every `<` and letter in the text must lie inside a node the
 * parser built (an element's start or end tag, a text, a comment, a doctype). Up to `end`: an unclosed
 * tag at the end is named by `unclosedTag`.
 */
function ignoredTags(text: string, root: Root, end: number): ParseProblem[] {
  const kept: [number, number][] = [];
  for (const node of allNodes(root)) {
    if (isElement(node)) {
      const { startTag, endTag } = node.sourceCodeLocation ?? {};
      if (startTag) kept.push([startTag.startOffset, startTag.endOffset]);
      if (endTag) kept.push([endTag.startOffset, endTag.endOffset]);
    } else if (node.sourceCodeLocation) {
      kept.push([node.sourceCodeLocation.startOffset, node.sourceCodeLocation.endOffset]);
    }
  }
  kept.sort((a, b) => a[0] - b[0]);
  const problems: ParseProblem[] = [];
  let next = 0;
  let coveredTo = 0;
  for (const m of text.slice(0, end).matchAll(/<([A-Za-z][^\t\n\f\r />]*)/g)) {
    while (next < kept.length && (kept[next]?.[0] ?? 0) <= m.index) {
      coveredTo = Math.max(coveredTo, kept[next]?.[1] ?? 0);
      next += 1;
    }
    if (m.index < coveredTo) continue;
    const tag = (m[1] ?? '').toLowerCase();
    problems.push({
      offset: m.index,
      message: `<${tag}> is out of place and HTML readers ignore it: remove it or move it where it belongs`,
    });
  }
  return problems;
}

/**
 * Names the tag the text ends in: `tag <p> is not closed with >`, or, when it ends inside a quoted
 * value, `the value of href is not closed with "`. The parser drops such a tag without a trace, so its
 * tail (what follows the last token the parser kept) is parsed again with each possible ending until
 * one closes it; the tag that ending closes is the one.
 */
function unclosedTag(text: string, floor: number): ParseProblem {
  const tail = text.slice(floor);
  for (const quote of ['', '"', "'"]) {
    const closed = `${tail}${quote}>`;
    for (const as of ['fragment', 'document'] as const) {
      const read = readWithEnding(closed, as);
      if (read.eofInTag) break;
      const element = elementClosedAt(read.root, closed.length);
      if (element === undefined) continue;
      const start = floor + (element.sourceCodeLocation?.startOffset ?? 0);
      const last = element.attrs.at(-1);
      if (quote === '' || last === undefined) {
        return { offset: start, message: `tag <${element.tagName}> is not closed with >` };
      }
      const attrStart = element.sourceCodeLocation?.attrs?.[last.name]?.startOffset;
      return {
        offset: attrStart === undefined ? start : floor + attrStart,
        message: `the value of ${last.name} is not closed with ${quote}`,
      };
    }
  }
  const lt = Math.max(0, tail.indexOf('<'));
  const name = /^<(\/?[^\t\n\f\r />]*)/.exec(tail.slice(lt))?.[1] ?? '';
  return { offset: floor + lt, message: `tag <${name}> is not closed with >` };
}

function readWithEnding(html: string, as: 'fragment' | 'document'): { root: Root; eofInTag: boolean } {
  let eofInTag = false;
  const options = {
    sourceCodeLocationInfo: true,
    onParseError: (e: ParserError) => {
      if (e.code === ErrorCodes.eofInTag) eofInTag = true;
    },
  };
  const root: Root = as === 'fragment' ? parseFragment(html, options) : parse(html, options);
  return { root, eofInTag };
}

function elementClosedAt(root: Root, end: number): AnyElement | undefined {
  for (const node of allNodes(root)) {
    if (isElement(node) && node.sourceCodeLocation?.startTag?.endOffset === end) return node;
  }
  return undefined;
}

/** Where the last token the parser kept ends: an unclosed tag at the end of the text starts after it. */
function lastTokenEnd(root: Root): number {
  let end = 0;
  for (const node of allNodes(root)) {
    const location = node.sourceCodeLocation;
    if (!location) continue;
    if (isElement(node)) {
      end = Math.max(
        end,
        node.sourceCodeLocation?.startTag?.endOffset ?? 0,
        node.sourceCodeLocation?.endTag?.endOffset ?? 0,
      );
    } else {
      end = Math.max(end, location.endOffset);
    }
  }
  return end;
}

function isElement(node: ChildNode): node is AnyElement {
  return !(
    defaultTreeAdapter.isTextNode(node) ||
    defaultTreeAdapter.isCommentNode(node) ||
    defaultTreeAdapter.isDocumentTypeNode(node)
  );
}

/** Every node under the root, template contents included. */
function allNodes(root: Root): ChildNode[] {
  const nodes: ChildNode[] = [];
  const stack: ChildNode[] = [...root.childNodes];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    nodes.push(node);
    if (!isElement(node)) continue;
    for (const child of node.childNodes) stack.push(child);
    if ('content' in node) for (const child of node.content.childNodes) stack.push(child);
  }
  return nodes;
}
