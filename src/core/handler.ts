// How a rule module declares a command: read-only or write, and its function. The engine's
// table of handlers must cover the whole catalog (checked by the compiler).
import type { CommandCatalog, CommandOf, CommandType } from './commands.js';
import type { ReadContext, WriteContext } from './context.js';

export type Handler<K extends CommandType> =
  | { mode: 'read'; run(c: ReadContext, cmd: CommandOf<K>): Promise<CommandCatalog[K]['out']> }
  | { mode: 'write'; run(c: WriteContext, cmd: CommandOf<K>): Promise<CommandCatalog[K]['out']> };

export type Handlers<K extends CommandType = CommandType> = { [P in K]: Handler<P> };

export function read<K extends CommandType>(run: (c: ReadContext, cmd: CommandOf<K>) => Promise<CommandCatalog[K]['out']>): Handler<K> {
  return { mode: 'read', run };
}

export function write<K extends CommandType>(run: (c: WriteContext, cmd: CommandOf<K>) => Promise<CommandCatalog[K]['out']>): Handler<K> {
  return { mode: 'write', run };
}
