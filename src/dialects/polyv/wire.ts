// Domain entries -> Polyv wire shapes (field names and order as Polyv documents them).
import type { DenyEntry, MuteEntry } from '../../core/model.js';

/** Polyv's avatar for users without one (as in its documented kicked entry). */
export const DEFAULT_PIC = '//livestatic.videocc.net/assets/wimages/missing_face.png';

/** Is this user (or this IP) chat-banned where the entry applies? */
export type ChatBanCheck = (userId: string, clientIp: string) => boolean;

/** One entry of list-kicked / del-kicked. */
export function kickedToWire(e: DenyEntry, isChatBanned: ChatBanCheck) {
  const s = e.snapshot;
  const userId = e.subjectType === 'userId' ? e.subject : (s?.userId ?? '');
  const clientIp = e.subjectType === 'ip' ? e.subject : (s?.clientIp ?? '');
  return {
    banned: isChatBanned(userId, clientIp),
    channelId: e.roomId,
    clientIp,
    nick: s?.nick ?? '',
    // Polyv's optional custom parameter: the member's customInfo, when they had one.
    ...(s?.param4 ? { param4: s.param4 } : {}),
    pic: s?.pic || DEFAULT_PIC,
    roomId: e.roomId,
    type: e.subjectType,
    uid: s?.uid ?? '',
    userId,
    userType: s?.userType ?? '',
  };
}

export interface ForbidListItem {
  nickName: string;
  viewerId: string;
  banned: 'Y' | 'N';
  kicked: 'Y' | 'N';
  operationTime: number; // ms, the latest kick or chat ban of this viewer
}

/** The account-wide forbid list: one row per viewer with an app-wide kick and/or chat ban. */
export function forbidList(kicks: DenyEntry[], chatBans: MuteEntry[]): ForbidListItem[] {
  const rows = new Map<string, ForbidListItem>();
  const row = (viewerId: string) => {
    let r = rows.get(viewerId);
    if (!r) rows.set(viewerId, (r = { nickName: '', viewerId, banned: 'N', kicked: 'N', operationTime: 0 }));
    return r;
  };
  for (const k of kicks) {
    const r = row(k.subject);
    r.kicked = 'Y';
    r.nickName = k.snapshot?.nick || r.nickName;
    r.operationTime = Math.max(r.operationTime, k.createdAt);
  }
  for (const b of chatBans) {
    const r = row(b.subject);
    r.banned = 'Y';
    r.operationTime = Math.max(r.operationTime, b.createdAt);
  }
  // Latest first, like an operator's console.
  return [...rows.values()].sort((a, b) => b.operationTime - a.operationTime || (a.viewerId < b.viewerId ? -1 : 1));
}

export function page<T>(items: T[], pageNumber: number, pageSize: number) {
  return {
    pageNumber,
    pageSize,
    totalItems: items.length,
    contents: items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
  };
}
