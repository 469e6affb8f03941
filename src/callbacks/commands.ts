// The callback commands Rostrum sends: Tencent Room Engine's six, and Rostrum's own moderation
// callbacks in the same style. A configuration subscribes to a subset (all when none is given).
export const TENCENT_CALLBACKS = [
  'Room.CallbackAfterCreateRoom',
  'Room.CallbackAfterDestroyRoom',
  'Room.CallbackAfterUpdateRoomInfo',
  'Room.CallbackAfterMemberEnter',
  'Room.CallbackAfterMemberLeave',
  'Mic.CallbackAfterSeatInfoChanged',
] as const;

export const MODERATION_CALLBACKS = [
  'Moderation.CallbackAfterDenyAdded',
  'Moderation.CallbackAfterDenyLifted',
  'Moderation.CallbackAfterMuteChanged',
  'Moderation.CallbackAfterSeatLockChanged',
] as const;

export const CALLBACK_COMMANDS: readonly string[] = [...TENCENT_CALLBACKS, ...MODERATION_CALLBACKS];

export type CallbackCommand = (typeof TENCENT_CALLBACKS)[number] | (typeof MODERATION_CALLBACKS)[number];

export function isCallbackCommand(s: string): s is CallbackCommand {
  return CALLBACK_COMMANDS.includes(s);
}

/** Where and what one app's callbacks go to. `commands` absent = every command. */
export interface CallbackTarget {
  url: string;
  commands?: string[];
}

/** The file's per-app setting: a target plus the signing token. */
export interface FileCallbackConfig extends CallbackTarget {
  token?: string;
}

/** The config file's callback targets, by SDKAppID (the server's, and `rostrum webhooks`'s view). */
export function fileTargets(apps: readonly { sdkAppId: number; callback?: FileCallbackConfig }[]): Map<number, FileCallbackConfig> {
  const files = new Map<number, FileCallbackConfig>();
  for (const a of apps) if (a.callback) files.set(a.sdkAppId, a.callback);
  return files;
}

/** What REST (room_config/*) stored for an app: a target, or a deletion that hides the file's. */
export type StoredCallbackConfig = { kind: 'set'; target: CallbackTarget } | { kind: 'deleted' };

/** The longest callback URL accepted, in characters. */
export const MAX_CALLBACK_URL = 2048;

/**
 * A URL a callback may go to: absolute http(s), at most MAX_CALLBACK_URL characters, with no user
 * or password (they would not be sent: a delivery carries no Authorization header, and the token
 * signs it).
 */
export function isCallbackUrl(url: string): boolean {
  if (!/^https?:\/\//i.test(url) || url.length > MAX_CALLBACK_URL) return false;
  const u = URL.parse(url);
  return u !== null && u.username === '' && u.password === '';
}
