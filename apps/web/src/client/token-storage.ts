/** What survives a reload: the session's tokens (and whose they are). */
export interface StoredTokens {
  access_token: string
  refresh_token: string
  /** When the access token expires (ISO 8601). */
  expires_at: string
  user_id: number
}

const TOKENS = 'parley.tokens'
const cursorKey = (userId: number) => `parley.cursor.${userId}`

/**
 * Tokens and the socket's cursor in localStorage. The access token lives 15 minutes; the refresh token
 * is single-use and rotated on every refresh (docs/ARCHITECTURE.md, "Sign-in and sessions"). A page
 * that can run script could read them — the CSP allows scripts from this origin only, and message text
 * is never parsed as HTML.
 */
export class TokenStorage {
  constructor(private readonly storage: Storage) {}

  load(): StoredTokens | null {
    const raw = this.storage.getItem(TOKENS)
    if (!raw) return null
    try {
      const value = JSON.parse(raw) as Partial<StoredTokens>
      if (
        typeof value.access_token === 'string' &&
        typeof value.refresh_token === 'string' &&
        typeof value.expires_at === 'string' &&
        typeof value.user_id === 'number'
      ) {
        return value as StoredTokens
      }
    } catch {
      // A damaged entry is the same as none.
    }
    return null
  }

  save(tokens: StoredTokens): void {
    this.storage.setItem(TOKENS, JSON.stringify(tokens))
  }

  clear(): void {
    const userId = this.load()?.user_id
    this.storage.removeItem(TOKENS)
    if (userId !== undefined) this.storage.removeItem(cursorKey(userId))
  }

  cursor(userId: number): number | null {
    const value = Number(this.storage.getItem(cursorKey(userId)) ?? Number.NaN)
    return Number.isSafeInteger(value) && value >= 0 ? value : null
  }

  saveCursor(userId: number, seq: number): void {
    this.storage.setItem(cursorKey(userId), String(seq))
  }
}
