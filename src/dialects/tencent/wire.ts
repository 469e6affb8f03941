// Domain views -> Tencent wire shapes (field names exactly as documented).
import type { MemberView, RoomView } from '../../core/views.js';
import type { DenyEntry, Seat } from '../../core/model.js';

export function roomInfoToWire(r: RoomView) {
  return {
    RoomId: r.roomId,
    RoomName: r.name,
    RoomType: r.type,
    Owner_Account: r.ownerId,
    MaxMemberCount: r.maxMemberCount,
    MaxSeatCount: r.maxSeatCount,
    IsVideoDisabled: r.isVideoDisabled,
    IsAudioDisabled: r.isAudioDisabled,
    IsMessageDisabled: r.isMessageDisabled,
    IsScreenSharingDisabled: r.isScreenSharingDisabled,
    IsCloudRecordingDisabled: r.isCloudRecordingDisabled,
    CustomInfo: r.customInfo,
    ScheduleStartTime: r.scheduleStartTime,
    ScheduleEndTime: r.scheduleEndTime,
    RoomStatus: r.status,
    IsSeatEnabled: r.isSeatEnabled,
    TakeSeatMode: r.takeSeatMode,
    IsPasswordEnabled: r.isPasswordEnabled,
    CreateTime: r.createTime,
    MemberCount: r.memberCount,
  };
}

export function seatToWire(s: Seat) {
  return {
    Index: s.index,
    ...(s.userId !== null ? { Member_Account: s.userId } : {}),
    IsTakenDisabled: s.locked,
    IsVideoDisabled: s.videoDisabled,
    IsAudioDisabled: s.audioDisabled,
  };
}

export function memberToWire(m: MemberView) {
  return {
    Member_Account: m.userId,
    NameCard: m.nameCard,
    Role: m.role,
    Marks: m.marks,
    CustomInfo: m.customInfo,
  };
}

export function bannedToWire(e: DenyEntry) {
  return {
    Member_Account: e.subject,
    BannedUntil: e.expiresAt === null ? 0 : Math.floor(e.expiresAt / 1000),
  };
}
