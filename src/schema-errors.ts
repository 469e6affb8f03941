// How a failed TypeBox check reads, for the config file and the native API alike.
import type { TSchema } from '@sinclair/typebox';
import type { ValueError } from '@sinclair/typebox/errors';

/** Where the check failed, as dotted keys ('' at the root). */
export function errorPath(e: ValueError): string {
  return e.path.replace(/^\//, '').replace(/\//g, '.');
}

/**
 * Why. For a union, what it takes ("expected an integer >= 1 or null", "expected one of a, b"),
 * not TypeBox's bare "Expected union value".
 */
export function errorMessage(e: ValueError): string {
  const members = e.schema.anyOf as TSchema[] | undefined;
  if (!members) return e.message;
  const choices = members.map((s) => s.const);
  if (choices.every((c) => typeof c === 'string')) return `expected one of ${choices.join(', ')}`;
  const kinds = members.map(kindOf);
  return kinds.every((k) => k !== undefined) ? `expected ${kinds.join(' or ')}` : e.message;
}

/** A schema in words, for the plain kinds a union of ours is made of. */
function kindOf(s: TSchema): string | undefined {
  if (s.const !== undefined) return JSON.stringify(s.const);
  const within = (what: string) =>
    s.minimum !== undefined && s.maximum !== undefined ? `${what} from ${s.minimum} to ${s.maximum}` : s.minimum !== undefined ? `${what} >= ${s.minimum}` : s.maximum !== undefined ? `${what} <= ${s.maximum}` : what;
  switch (s.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return within('an integer');
    case 'number':
      return within('a number');
    case 'string':
      return 'a string';
    case 'array':
      return 'a list';
    case 'object':
      return 'an object';
    default:
      return undefined;
  }
}
