import { type ChannelMember, type ChannelMembers, distinctMembers } from './channel-members.ts'

/** The embedded presence rosters: one process holds every socket. */
export class MemoryChannelMembers implements ChannelMembers {
  private readonly channels = new Map<string, Map<string, ChannelMember>>()

  async join(channel: string, connectionId: string, member: ChannelMember): Promise<boolean> {
    let sockets = this.channels.get(channel)
    if (!sockets) {
      sockets = new Map()
      this.channels.set(channel, sockets)
    }
    const first = ![...sockets.values()].some((other) => other.user_id === member.user_id)
    sockets.set(connectionId, member)
    return first
  }

  async leave(channel: string, connectionId: string, userId: number): Promise<boolean> {
    const sockets = this.channels.get(channel)
    if (!sockets?.delete(connectionId)) return false
    if (sockets.size === 0) this.channels.delete(channel)
    return ![...sockets.values()].some((other) => other.user_id === userId)
  }

  async list(channel: string): Promise<ChannelMember[]> {
    return distinctMembers(this.channels.get(channel)?.values() ?? [])
  }

  async close(): Promise<void> {
    this.channels.clear()
  }
}
