import type { MessageEdit } from '@parley/protocol'
import type { Deps } from '../deps.ts'
import { iso } from '../presenters/time.ts'
import { MessageRepository } from '../store/message.repository.ts'
import type { MessageRow } from '../store/schema.ts'

/** A message's earlier versions, oldest first; `edited_at` is when each one was replaced. */
export async function messageEdits(deps: Pick<Deps, 'store'>, message: MessageRow): Promise<MessageEdit[]> {
  const edits = await new MessageRepository(deps.store.db).editsOf(message.id)
  return edits.map((edit) => ({ content: edit.content, edited_at: iso(edit.created_at) }))
}
