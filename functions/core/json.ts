// Strict JSON parsing: RFC 8259 text, I-JSON member names (no duplicates, RFC 7493), bounded nesting.
// JSON.parse silently keeps the last of duplicate names, which would let two parties read one signed
// document differently, so every request body goes through this first. The member name `__proto__` is
// refused for the same reason: schema copies and spreads drop it, so it would be received but not verified.

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

/** Well-formed JSON with a member name the control plane does not accept (`__proto__`). */
export class JsonForbiddenMemberError extends JsonSyntaxError {
  constructor(readonly member: string, position: number) {
    super(`Member name "${member}" is not accepted at position ${position}`, position);
  }
}

const MAX_DEPTH = 64;

/** Parse JSON text; throws JsonSyntaxError on bad syntax, duplicate member names or excessive nesting. */
export function parseJsonStrict(text: string): unknown {
  checkStructure(text);
  return JSON.parse(text);
}

function checkStructure(text: string): void {
  let i = 0;
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const fail = (msg: string): never => {
    throw new JsonSyntaxError(`${msg} at position ${i}`, i);
  };
  const readString = (): string => {
    if (text[i] !== '"') fail('Expected a string');
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        // JSON.parse decodes escapes exactly as the parser that follows will.
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('Bad unicode escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('Bad escape');
      } else if (c < 0x20) fail('Control character in string');
      else i++;
    }
    return fail('Unterminated string');
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail('Nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = readString();
        if (seen.has(key)) fail(`Duplicate member name "${key}"`);
        // JavaScript objects cannot carry it faithfully: copies made by assignment drop it (or change the
        // prototype), so what was signed or checked would differ from what was received.
        if (key === '__proto__') throw new JsonForbiddenMemberError(key, i);
        seen.add(key);
        ws();
        if (text[i] !== ':') fail('Expected ":"');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('Expected "," or "}"');
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('Expected "," or "]"');
      }
    } else if (c === '"') {
      readString();
    } else {
      const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
      if (!m) fail('Unexpected token');
      i += m![0].length;
    }
  };
  value(0);
  ws();
  if (i !== text.length) fail('Unexpected data after the JSON value');
}
