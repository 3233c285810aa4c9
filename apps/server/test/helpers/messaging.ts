import crypto from 'node:crypto'
import type { Message, SendMessageBody, Update } from '@parley/protocol'
import type { RawResponse, RestClient } from '@parley/sdk'

/** A fresh client-generated message id, as a client would make one per send. */
export const clientMsgId = () => `m-${crypto.randomUUID()}`

/** A text send body with a fresh client_msg_id unless one is given. */
export function text(content: string, extra: Partial<SendMessageBody> = {}): SendMessageBody {
  return { message_type: 'text', content, client_msg_id: clientMsgId(), ...extra }
}

/** Sends over raw HTTP so the test sees the status (201 new, 200 replayed) as well as the body. */
export async function sendRaw(
  client: RestClient,
  chatId: number,
  body: unknown,
): Promise<RawResponse & { message?: Message }> {
  const response = await client.raw('POST', `/api/chats/${chatId}/messages`, { body })
  const message = (response.body as { message?: Message } | undefined)?.message
  return { ...response, ...(message ? { message } : {}) }
}

/** The error code of a refused request, as a user sees it. */
export const codeOf = (response: RawResponse) =>
  (response.body as { error?: { code?: string } } | undefined)?.error?.code

/**
 * Replays the caller's whole log from `since` (paged), as a client catching up would. Fails loudly on
 * `resync_required`, which a cursor inside the log must never get.
 */
export async function syncAll(client: RestClient, since = 0, limit = 1000): Promise<Update[]> {
  const updates: Update[] = []
  let cursor = since
  for (;;) {
    const page = await client.sync(cursor, { limit })
    if (!('updates' in page)) throw new Error(`resync_required at ${cursor}`)
    updates.push(...page.updates)
    cursor = page.next_seq
    if (!page.has_more) return updates
  }
}

/** The whole history of a chat as one member sees it, oldest first (paged with before_message_id). */
export async function fullHistory(client: RestClient, chatId: number): Promise<Message[]> {
  const pages: Message[][] = []
  let before: number | undefined
  for (;;) {
    const page = await client.messages.history(chatId, {
      limit: 100,
      ...(before !== undefined ? { before_message_id: before } : {}),
    })
    pages.unshift(page.messages)
    if (!page.pagination.has_more_before || page.pagination.next_before_message_id === null) break
    before = page.pagination.next_before_message_id
  }
  return pages.flat()
}

/** The `message:new` updates of one chat in a replayed log. */
export const newMessagesIn = (updates: Update[], chatId: number) =>
  updates.flatMap((update) =>
    update.type === 'message:new' && update.data.chat_id === chatId ? [update.data.message] : [],
  )

/** Seqs of a log must be exactly 1..N (or since+1..since+N): no gap, no duplicate. */
export const seqsOf = (updates: Update[]) => updates.map((update) => update.seq)
export const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)
