import { type Static, Type } from '@sinclair/typebox'
import { DisplayName, Id, Nullable, NullableTimestamp, PlainText, Timestamp } from './common.ts'
import { UserSummary } from './users.ts'

/**
 * A contact is identified by the contact's user id (seed 002: `PUT /api/contacts/456/block`). `name` is
 * the name the caller saved them under; the other fields follow the contact's privacy settings.
 */
export const Contact = Type.Object({
  id: Id,
  name: Type.String(),
  username: Nullable(Type.String()),
  phone_number: Nullable(Type.String()),
  avatar_url: Nullable(Type.String()),
  about: Nullable(Type.String()),
  is_contact: Type.Boolean(),
  is_blocked: Type.Boolean(),
  last_seen_at: NullableTimestamp,
  is_online: Type.Boolean(),
})
export type Contact = Static<typeof Contact>

export const ContactsResponse = Type.Object({ success: Type.Literal(true), contacts: Type.Array(Contact) })

export const AddContactBody = Type.Object(
  {
    phone_number: Type.String({ minLength: 3, maxLength: 32 }),
    country_code: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{1,4}$' })),
    contact_name: DisplayName({ maxLength: 100 }),
  },
  { additionalProperties: false },
)
export type AddContactBody = Static<typeof AddContactBody>

/** `/api/contacts/:id`: the contact's user id. */
export const ContactParams = Type.Object({ id: Id }, { additionalProperties: false })
export type ContactParams = Static<typeof ContactParams>

export const AddContactResponse = Type.Object({ success: Type.Literal(true), contact: Contact })

export const BlockResponse = Type.Object({ success: Type.Literal(true), is_blocked: Type.Boolean() })

export const ContactRequestStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('rejected'),
])

export const ContactRequest = Type.Object({
  id: Id,
  from_user: UserSummary,
  to_user: UserSummary,
  message: Nullable(Type.String()),
  status: ContactRequestStatus,
  created_at: Timestamp,
  responded_at: NullableTimestamp,
})
export type ContactRequest = Static<typeof ContactRequest>

export const ContactRequestsResponse = Type.Object({
  success: Type.Literal(true),
  incoming: Type.Array(ContactRequest),
  outgoing: Type.Array(ContactRequest),
})

/** `/api/contacts/requests/:id`: the request's id. */
export const ContactRequestParams = Type.Object({ id: Id }, { additionalProperties: false })
export type ContactRequestParams = Static<typeof ContactRequestParams>

/**
 * Send a contact request by user id or by username (seed 004 finds people by username): exactly one of
 * the two.
 */
export const SendContactRequestBody = Type.Object(
  {
    user_id: Type.Optional(Id),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    message: Type.Optional(PlainText({ maxLength: 500 })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type SendContactRequestBody = Static<typeof SendContactRequestBody>

export const ContactRequestResponse = Type.Object({ success: Type.Literal(true), request: ContactRequest })
