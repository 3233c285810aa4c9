/**
 * Most values a statement binds for one list (ids in an `in (…)`, rows of a multi-row insert). SQLite
 * refuses a statement with more than 32,766 bound variables and PostgreSQL more than 65,535; a query
 * whose bind count grew with its input would fail on a big enough list. Every list-sized query goes
 * through `inChunks` / `eachChunk`, so no statement binds more than `CHUNK` × its columns (+ a few).
 */
export const CHUNK = 500

/** Runs `query` on consecutive slices of `items` (one after another) and concatenates the rows. */
export async function inChunks<T, R>(
  items: readonly T[],
  query: (chunk: T[]) => Promise<readonly R[]>,
  size = CHUNK,
): Promise<R[]> {
  if (items.length <= size) return items.length === 0 ? [] : [...(await query([...items]))]
  const rows: R[] = []
  for (let start = 0; start < items.length; start += size) {
    rows.push(...(await query(items.slice(start, start + size))))
  }
  return rows
}

/** Runs `write` on consecutive slices of `items`, one after another. */
export async function eachChunk<T>(
  items: readonly T[],
  write: (chunk: T[]) => Promise<unknown>,
  size = CHUNK,
): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await write(items.slice(start, start + size))
  }
}
