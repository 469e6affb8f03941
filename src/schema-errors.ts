// How a failed TypeBox check reads, for the config file and the native API alike.
import type { ValueError } from '@sinclair/typebox/errors';

/** Where the check failed, as dotted keys ('' at the root). */
export function errorPath(e: ValueError): string {
  return e.path.replace(/^\//, '').replace(/\//g, '.');
}

/** Why: for a union of string literals the values it takes, not TypeBox's "Expected union value". */
export function errorMessage(e: ValueError): string {
  const choices = (e.schema.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const);
  return choices?.every((c) => typeof c === 'string') ? `expected one of ${choices.join(', ')}` : e.message;
}
