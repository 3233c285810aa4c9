/** One member of a presence channel as Pusher shows it: `user_id` and the `user_info` the server signed. */
export interface ChannelMember {
  user_id: number
  user_info: unknown
}

/**
 * Who is subscribed to each Pusher presence channel (`presence-chat.{id}`), across the cluster. A user
 * may be subscribed from several sockets; they are one member, added with their first socket and
 * removed with their last (Pusher's `member_added` / `member_removed`).
 */
export interface ChannelMembers {
  /** Adds one socket's subscription. True when it is the user's first in the channel (→ member_added). */
  join(channel: string, connectionId: string, member: ChannelMember): Promise<boolean>
  /** Removes one socket's subscription. True when it was the user's last in the channel (→ member_removed). */
  leave(channel: string, connectionId: string, userId: number): Promise<boolean>
  /** The channel's members, one per user. */
  list(channel: string): Promise<ChannelMember[]>
  close(): Promise<void>
}

/** Distinct members by user id, the first socket's info kept. */
export function distinctMembers(members: Iterable<ChannelMember>): ChannelMember[] {
  const byUser = new Map<number, ChannelMember>()
  for (const member of members) if (!byUser.has(member.user_id)) byUser.set(member.user_id, member)
  return [...byUser.values()]
}
