// The ROSTRUM_* environment variables of the command line.

/**
 * An environment variable's value; one set to the empty string counts as unset (a compose or
 * .env file's `ROSTRUM_HOST=` with no value), so it never means "listen everywhere" or "the
 * current directory".
 */
export function env(name: string): string | undefined {
  const value = process.env[name];
  return value === '' ? undefined : value;
}
