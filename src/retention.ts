// The periodic prunes (outbox, chat history, ended bans and mutes, audit, given-up callbacks)
// delete a page of rows a statement, so a long backlog never holds the event loop for long.

/** Rows a prune deletes per statement. */
export const PRUNE_PAGE = 2000;

/** Runs `prune(PRUNE_PAGE)` until a page comes back short, the event loop free between pages; returns the rows removed. */
export async function pruneInPages(prune: (limit: number) => Promise<number>): Promise<number> {
  let removed = 0;
  for (;;) {
    const n = await prune(PRUNE_PAGE);
    removed += n;
    if (n < PRUNE_PAGE) return removed;
    await new Promise((r) => setImmediate(r));
  }
}
