// Library entry: embed Rostrum in a Node process.
export { startServer, type ServerOptions, type RostrumServer } from './server.js';
export { Engine } from './core/engine.js';
export type { RoomView, MemberView } from './core/views.js';
export type { Command, CommandType, CommandCatalog, ResultOf } from './core/commands.js';
export { RoomError, type ErrorKind } from './core/errors.js';
export type { RoomEvent, EventType } from './core/events.js';
export type * from './core/model.js';
export { genUserSig, verifyUserSig } from './auth/usersig.js';
export { parseConfig, readConfigFile, ConfigError } from './config.js';
