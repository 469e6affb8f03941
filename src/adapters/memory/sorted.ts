// Sorted arrays: binary search, insert and remove keeping the order.

/** First index whose element is not before `x` (binary search). */
export function lowerBound<T>(arr: T[], x: T, cmp: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(arr[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function insertSorted<T>(arr: T[], x: T, cmp: (a: T, b: T) => number): void {
  // New entries and members usually sort last: append without a search.
  if (arr.length === 0 || cmp(arr[arr.length - 1], x) < 0) arr.push(x);
  else arr.splice(lowerBound(arr, x, cmp), 0, x);
}

export function removeSorted<T>(arr: T[], x: T, cmp: (a: T, b: T) => number): void {
  const i = lowerBound(arr, x, cmp);
  if (i < arr.length && cmp(arr[i], x) === 0) arr.splice(i, 1);
}

export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
