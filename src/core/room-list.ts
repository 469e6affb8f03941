// The operator's room list: an app's rooms in id order, paged by cursor, with a search.
import { invalid } from './errors.js';
import { read, type Handlers } from './handler.js';
import { LIMITS, checkBytes } from './limits.js';
import { roomView } from './views.js';

export const MAX_ROOM_PAGE = 500;

export const roomListHandlers: Handlers<'listRooms'> = {
  listRooms: read(async (c, { after, limit, search }) => {
    if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_ROOM_PAGE)) throw invalid('limit', `must be 1..${MAX_ROOM_PAGE}`);
    checkBytes('after', after, LIMITS.roomIdBytes);
    checkBytes('search', search, LIMITS.roomNameBytes);
    const aggs = await c.store.rooms({ after, limit, search: search ?? '' });
    const rooms = aggs.map((a) => ({ ...roomView(a.room, a.memberCount, c.now), seatCount: a.seats.length, seatedCount: a.seats.filter((s) => s.userId !== null).length }));
    return { rooms, next: aggs.length === limit ? aggs[aggs.length - 1].room.roomId : '' };
  }),
};
