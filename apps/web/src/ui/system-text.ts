import type { Message } from '@parley/protocol'
import { strings } from '../strings.ts'

/**
 * Who is who, for words about people named by id (system messages). The client keeps it current from
 * the store (main.tsx); a name not known yet reads as "Someone" until the group's info arrives.
 */
export const directory: { people: Readonly<Record<number, string>>; meId: number | null } = {
  people: {},
  meId: null,
}

/** "Ada added Bob and Cy", "You left", … for a system message. */
export function systemText(
  message: Pick<Message, 'system' | 'content'> & { sender?: Message['sender'] },
  people: Readonly<Record<number, string>> = directory.people,
  meId: number | null = directory.meId,
): string {
  const event = message.system
  if (!event) return message.content ?? ''
  // The actor is the message's sender: their name comes with it, even once they have left the group.
  const sender = message.sender
  if (sender && people[sender.id] === undefined) people = { ...people, [sender.id]: sender.name }
  // "You" opens the sentence; "you" sits inside it ("Ada added you").
  const name = (id: number | null, subject: boolean) =>
    id === null
      ? strings.system.someone
      : id === meId
        ? subject
          ? strings.system.you
          : strings.system.youObject
        : (people[id] ?? strings.system.someone)
  const actor = name(event.actor_id, true)
  const users = strings.system.and(event.user_ids.map((id) => name(id, false)))
  switch (event.event) {
    case 'group_created':
      return strings.system.created(actor)
    case 'members_added':
      return strings.system.added(actor, users)
    case 'member_removed':
      return strings.system.removed(actor, users)
    case 'member_left':
      return strings.system.left(name(event.user_ids[0] ?? event.actor_id, true))
    case 'admin_promoted':
      return strings.system.promoted(actor, users)
    case 'admin_demoted':
      return strings.system.demoted(actor, users)
    case 'group_updated':
      return strings.system.updated(actor)
  }
}
