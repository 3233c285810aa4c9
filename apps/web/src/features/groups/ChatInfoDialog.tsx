import type { Chat, GroupParticipant, PublicUser } from '@parley/protocol'
import { type FormEvent, useEffect, useId, useMemo, useState } from 'react'
import { navigate } from '../../app/router.ts'
import { useClient, useStore } from '../../client/react.tsx'
import { isAdmin } from '../../client/shell.ts'
import { strings } from '../../strings.ts'
import { Dialog } from '../../ui/Dialog.tsx'
import { describe } from '../auth/SignIn.tsx'
import { Avatar, chatTitle } from '../chats/ChatList.tsx'
import { PeoplePicker } from './PeoplePicker.tsx'
import { PresenceLine } from './PresenceLine.tsx'

/** The side panel about a chat: a group's members and settings, or the other person of a private chat. */
export default function ChatInfoDialog({ chat, onClose }: { chat: Chat; onClose: () => void }) {
  return (
    <Dialog
      title={chat.type === 'group' ? strings.group.info : strings.group.chatInfo}
      onClose={onClose}
      variant="sheet"
    >
      {chat.type === 'group' ? <GroupInfoPanel chat={chat} /> : <PersonPanel chat={chat} />}
    </Dialog>
  )
}

function GroupInfoPanel({ chat }: { chat: Chat }) {
  const client = useClient()
  const info = useStore((state) => state.groups[chat.id])
  const me = useStore((state) => state.me)
  const [error, setError] = useState<string | null>(null)
  const admin = isAdmin(chat.role)

  useEffect(() => {
    client.loadGroup(chat.id).catch((caught: unknown) => setError(describe(caught)))
  }, [client, chat.id])

  const run = (task: Promise<unknown>) =>
    task.then(
      () => setError(null),
      (caught: unknown) => setError(describe(caught)),
    )

  if (!info) {
    return (
      <p className="muted pad" role="status">
        {error ?? strings.group.loading}
      </p>
    )
  }
  return (
    <div className="stack pad">
      <div className="info-head">
        <Avatar name={info.name} />
        <div>
          <p className="info-title">{info.name}</p>
          <p className="muted small-text">{strings.presence.members(info.participants_count)}</p>
          {info.description && <p className="small-text">{info.description}</p>}
        </div>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {admin && <RenameForm chatId={chat.id} name={info.name} description={info.description} />}
      <section aria-labelledby={`members-${chat.id}`} className="stack">
        <h3 id={`members-${chat.id}`} className="section-title">
          {strings.group.members}
        </h3>
        <ul className="members">
          {info.participants.map((member) => (
            <MemberRow
              key={member.id}
              member={member}
              mine={member.id === me?.id}
              canManage={admin && member.id !== me?.id}
              onRole={(makeAdmin) => void run(client.setAdmin(chat.id, member.id, makeAdmin))}
              onRemove={() => void run(client.removeMember(chat.id, member.id))}
            />
          ))}
        </ul>
      </section>
      {admin && (
        <AddMembers chatId={chat.id} members={info.participants} onError={(text) => setError(text)} />
      )}
      <LeaveGroup chatId={chat.id} onError={(text) => setError(text)} />
    </div>
  )
}

function MemberRow(props: {
  member: GroupParticipant
  mine: boolean
  canManage: boolean
  onRole: (admin: boolean) => void
  onRemove: () => void
}) {
  const { member, mine, canManage } = props
  const name = mine ? strings.group.you : member.name
  return (
    <li className="member">
      <Avatar name={member.name} />
      <span className="member-main">
        <span>{name}</span>
        <span className="muted small-text">
          {member.role === 'admin' ? strings.group.admin : strings.group.member}
        </span>
      </span>
      {canManage && (
        <span className="member-actions">
          <button type="button" className="small" onClick={() => props.onRole(member.role !== 'admin')}>
            {member.role === 'admin' ? strings.group.demote(member.name) : strings.group.promote(member.name)}
          </button>
          <button type="button" className="small danger" onClick={props.onRemove}>
            {strings.group.kick(member.name)}
          </button>
        </span>
      )}
    </li>
  )
}

function RenameForm(props: { chatId: number; name: string; description: string | null }) {
  const client = useClient()
  const ids = { name: useId(), description: useId() }
  const [name, setName] = useState(props.name)
  const [description, setDescription] = useState(props.description ?? '')
  const [status, setStatus] = useState<string | null>(null)

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      await client.renameGroup(props.chatId, name.trim(), description.trim() || null)
      setStatus(strings.group.saved)
    } catch (caught) {
      setStatus(describe(caught))
    }
  }

  return (
    <form className="stack" onSubmit={(event) => void save(event)}>
      <div className="field">
        <label htmlFor={ids.name}>{strings.group.name}</label>
        <input
          id={ids.name}
          value={name}
          required
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={ids.description}>{strings.group.description}</label>
        <textarea
          id={ids.description}
          value={description}
          maxLength={500}
          rows={2}
          onChange={(event) => setDescription(event.target.value)}
        />
      </div>
      <button type="submit" className="small" disabled={name.trim().length === 0}>
        {strings.group.rename}
      </button>
      <p role="status" className="muted small-text">
        {status}
      </p>
    </form>
  )
}

function AddMembers(props: { chatId: number; members: GroupParticipant[]; onError: (text: string) => void }) {
  const client = useClient()
  const [picked, setPicked] = useState<PublicUser[]>([])
  const exclude = useMemo(() => new Set(props.members.map((member) => member.id)), [props.members])
  const headingId = useId()

  async function add() {
    try {
      const notAdded = await client.addMembers(
        props.chatId,
        picked.map((user) => user.id),
      )
      setPicked([])
      if (notAdded.length > 0) props.onError(strings.group.notAdded(notAdded.length))
    } catch (caught) {
      props.onError(describe(caught))
    }
  }

  return (
    <section aria-labelledby={headingId} className="stack">
      <h3 id={headingId} className="section-title">
        {strings.group.addMembers}
      </h3>
      <PeoplePicker picked={picked} onChange={setPicked} exclude={exclude} />
      <button type="button" className="small" disabled={picked.length === 0} onClick={() => void add()}>
        {strings.group.add}
      </button>
    </section>
  )
}

function LeaveGroup({ chatId, onError }: { chatId: number; onError: (text: string) => void }) {
  const client = useClient()
  const [confirming, setConfirming] = useState(false)
  if (!confirming) {
    return (
      <button type="button" className="danger" onClick={() => setConfirming(true)}>
        {strings.group.leave}
      </button>
    )
  }
  return (
    <fieldset className="confirm stack">
      <legend>{strings.group.confirmLeave}</legend>
      <div className="row">
        <button
          type="button"
          className="danger"
          onClick={() =>
            client.leaveGroup(chatId).then(
              () => navigate({ name: 'chats' }),
              (caught: unknown) => onError(describe(caught)),
            )
          }
        >
          {strings.group.yesLeave}
        </button>
        <button type="button" onClick={() => setConfirming(false)}>
          {strings.group.cancel}
        </button>
      </div>
    </fieldset>
  )
}

/** A private chat's other person: who they are, presence as their privacy allows, block / unblock. */
function PersonPanel({ chat }: { chat: Chat }) {
  const client = useClient()
  const participant = chat.participant
  const [user, setUser] = useState<PublicUser | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    if (!participant) return
    client.user(participant.id).then(setUser, (caught: unknown) => setError(describe(caught)))
  }, [client, participant])

  if (!participant) return null
  const title = chatTitle(chat)
  const toggleBlock = async () => {
    if (!user) return
    try {
      await client.setBlocked(user.id, !user.is_blocked)
      setUser({ ...user, is_blocked: !user.is_blocked })
      setError(null)
    } catch (caught) {
      setError(describe(caught))
    }
  }
  return (
    <div className="stack pad">
      <div className="info-head">
        <Avatar name={title} />
        <div>
          <p className="info-title">{title}</p>
          <PresenceLine chat={chat} />
        </div>
      </div>
      {user && (
        <dl className="facts">
          {user.username && (
            <>
              <dt>{strings.group.username}</dt>
              <dd>@{user.username}</dd>
            </>
          )}
          {user.phone_number && (
            <>
              <dt>{strings.group.phone}</dt>
              <dd>{user.phone_number}</dd>
            </>
          )}
          {user.about && (
            <>
              <dt>{strings.group.about}</dt>
              <dd>{user.about}</dd>
            </>
          )}
        </dl>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {user && (
        <>
          {user.is_blocked && <p className="muted small-text">{strings.group.blocked}</p>}
          <button type="button" className="danger" onClick={() => void toggleBlock()}>
            {user.is_blocked ? strings.group.unblock(user.name) : strings.group.block(user.name)}
          </button>
        </>
      )}
    </div>
  )
}
