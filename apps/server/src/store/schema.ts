import type { AttachmentState, MediaKind, MessageType, RejectReason } from '@parley/protocol'
import type { Generated, Insertable, Selectable } from 'kysely'

/**
 * Table types for Kysely. Times are epoch milliseconds (BIGINT) in both dialects: comparable, indexable
 * and free of time-zone parsing; presenters turn them into ISO strings.
 */
export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  otp_codes: OtpCodesTable
  contacts: ContactsTable
  blocks: BlocksTable
  contact_requests: ContactRequestsTable
  server_secrets: ServerSecretsTable
  chats: ChatsTable
  chat_members: ChatMembersTable
  messages: MessagesTable
  message_edits: MessageEditsTable
  message_hidden: MessageHiddenTable
  reactions: ReactionsTable
  changes: ChangesTable
  user_updates: UserUpdatesTable
  user_seqs: UserSeqsTable
  attachments: AttachmentsTable
  message_attachments: MessageAttachmentsTable
}

export type VisibilityValue = 'everyone' | 'contacts' | 'nobody'

export interface UsersTable {
  id: Generated<number>
  phone_number: string | null
  /** Lower-cased; unique. */
  username: string | null
  password_hash: string | null
  name: string
  about: string
  avatar_url: string | null
  avatar_attachment_id: number | null
  privacy_last_seen: VisibilityValue
  privacy_profile_photo: VisibilityValue
  privacy_about: VisibilityValue
  last_seen_at: number | null
  phone_verified_at: number | null
  created_at: number
  updated_at: number
  deleted_at: number | null
}
export type UserRow = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>

export interface SessionsTable {
  id: string
  user_id: number
  device_name: string
  ip: string | null
  user_agent: string | null
  created_at: number
  last_active_at: number
  /** Refresh tokens stop working after this; each rotation pushes it forward. */
  expires_at: number
  revoked_at: number | null
}
export type SessionRow = Selectable<SessionsTable>

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string
  session_id: string
  created_at: number
  used_at: number | null
}

export interface OtpCodesTable {
  id: Generated<number>
  phone_number: string
  code_hash: string
  ip: string | null
  created_at: number
  expires_at: number
  attempts: number
  consumed_at: number | null
}
export type OtpCodeRow = Selectable<OtpCodesTable>

export interface ContactsTable {
  user_id: number
  contact_user_id: number
  contact_name: string
  created_at: number
}

export interface BlocksTable {
  user_id: number
  blocked_user_id: number
  created_at: number
}

export interface ContactRequestsTable {
  id: Generated<number>
  from_user_id: number
  to_user_id: number
  message: string | null
  status: 'pending' | 'accepted' | 'rejected'
  created_at: number
  responded_at: number | null
}
export type ContactRequestRow = Selectable<ContactRequestsTable>

export interface ServerSecretsTable {
  name: string
  value: string
}

export interface ChatsTable {
  id: Generated<number>
  type: 'private' | 'group'
  name: string | null
  description: string | null
  avatar_url: string | null
  avatar_attachment_id: number | null
  created_by: number | null
  private_pair: string | null
  last_seq: number
  last_activity_at: number
  created_at: number
  updated_at: number
}
export type ChatRow = Selectable<ChatsTable>

export interface ChatMembersTable {
  chat_id: number
  user_id: number
  role: 'admin' | 'member'
  joined_at: number
  left_at: number | null
  muted_until: number | null
  pinned_at: number | null
  archived_at: number | null
  delivered_seq: number
  delivered_at: number | null
  read_seq: number
  read_at: number | null
}
export type ChatMemberRow = Selectable<ChatMembersTable>

export interface MessagesTable {
  id: Generated<number>
  chat_id: number
  seq: number
  sender_id: number | null
  client_msg_id: string | null
  message_type: MessageType
  content: string | null
  payload: string | null
  reply_to_message_id: number | null
  forwarded_from_message_id: number | null
  created_at: number
  edited_at: number | null
  deleted_at: number | null
}
export type MessageRow = Selectable<MessagesTable>

export interface MessageEditsTable {
  id: Generated<number>
  message_id: number
  content: string | null
  created_at: number
}

export interface MessageHiddenTable {
  user_id: number
  message_id: number
  created_at: number
}

export interface ReactionsTable {
  message_id: number
  user_id: number
  emoji: string
  created_at: number
}

export interface ChangesTable {
  id: Generated<number>
  type: string
  data: string
  created_at: number
  /** The message whose content the change carries (`message:new`, `message:edited`), else null. */
  message_id: number | null
}

export interface UserUpdatesTable {
  user_id: number
  seq: number
  change_id: number
  created_at: number
}

export interface UserSeqsTable {
  user_id: number
  seq: number
  purged_through: number
  acked_seq: number
}

export interface AttachmentsTable {
  id: Generated<number>
  owner_id: number
  kind: MediaKind
  state: AttachmentState
  reject_reason: RejectReason | null
  declared_mime: string
  declared_size: number
  mime: string | null
  size: number
  file_name: string | null
  width: number | null
  height: number | null
  duration_ms: number | null
  placeholder: string | null
  waveform: string | null
  storage_key: string
  /** JSON `Record<string, StoredVariant>` (media/variants.ts): thumbnail, display size, avatar sizes. */
  variants: string | null
  upload_id: string | null
  received_bytes: number
  created_at: number
  completed_at: number | null
  ready_at: number | null
  attached_at: number | null
}
export type AttachmentRow = Selectable<AttachmentsTable>
export type NewAttachment = Insertable<AttachmentsTable>

export interface MessageAttachmentsTable {
  message_id: number
  attachment_id: number
  position: number
}
