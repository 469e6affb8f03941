// Library entry: embed Rostrum in a Node process.
export { startServer, type ServerOptions, type RostrumServer } from './server.js';
export { Engine, type RoomView, type MemberView } from './core/engine.js';
export { RoomError, type ErrorKind } from './core/errors.js';
export type { RoomEvent, EventType } from './core/events.js';
export type * from './core/model.js';
export { genUserSig, verifyUserSig } from './auth/usersig.js';
export { parseConfig, readConfigFile, ConfigError } from './config.js';
