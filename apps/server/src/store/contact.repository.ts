import { sql } from 'kysely'
import { inChunks } from './chunks.ts'
import type { Executor } from './db.ts'
import { prepared } from './prepared.ts'
import type { ContactRequestRow } from './schema.ts'
import { USER_COLUMNS, type User } from './user.repository.ts'

const REQUEST_COLUMNS = [
  'id',
  'from_user_id',
  'to_user_id',
  'message',
  'status',
  'created_at',
  'responded_at',
] as const

/** One fact about how a viewer and another user stand, as read by `relationEdges`. */
export type RelationEdgeKind = 'viewer_has' | 'target_has' | 'viewer_blocked' | 'target_blocked'
export interface RelationEdge {
  kind: RelationEdgeKind
  other_id: number
}

/** A row of the caller's address book: the contact's user row, the saved name and how they stand. */
export interface ContactListRow extends User {
  contact_name: string
  /** The contact has the caller in their contacts too. */
  target_has_viewer: boolean
  viewer_blocked_target: boolean
  target_blocked_viewer: boolean
}

const flag = (value: unknown): boolean => value === true || value === 1 || value === '1'

/**
 * Contacts (one row per direction: `user_id` saved `contact_user_id`), blocks and contact requests:
 * the social graph between users.
 */
// Asked on every private-chat send (store/prepared.ts).
const blockRow = prepared((db, userId: number, blockedUserId: number) =>
  db
    .selectFrom('blocks')
    .select('user_id')
    .where('user_id', '=', userId)
    .where('blocked_user_id', '=', blockedUserId),
)

export class ContactRepository {
  constructor(private readonly db: Executor) {}

  /** Whether `userId` blocked `blockedUserId`. */
  async hasBlocked(userId: number, blockedUserId: number): Promise<boolean> {
    return (await blockRow(this.db, userId, blockedUserId)).rows.length > 0
  }

  /**
   * The caller's contacts with everything needed to present them, in one query whatever their number:
   * reverse contact and both block directions come from correlated EXISTS, not one query per contact.
   */
  async listContacts(userId: number): Promise<ContactListRow[]> {
    const rows = await this.db
      .selectFrom('contacts')
      .innerJoin('users', 'users.id', 'contacts.contact_user_id')
      .select(USER_COLUMNS.map((column) => `users.${column}` as const))
      .select('contacts.contact_name')
      .select(({ exists, selectFrom }) => [
        exists(
          selectFrom('contacts as reverse')
            .select('reverse.user_id')
            .whereRef('reverse.user_id', '=', 'contacts.contact_user_id')
            .where('reverse.contact_user_id', '=', userId),
        ).as('target_has_viewer'),
        exists(
          selectFrom('blocks')
            .select('blocks.user_id')
            .where('blocks.user_id', '=', userId)
            .whereRef('blocks.blocked_user_id', '=', 'contacts.contact_user_id'),
        ).as('viewer_blocked_target'),
        exists(
          selectFrom('blocks')
            .select('blocks.user_id')
            .whereRef('blocks.user_id', '=', 'contacts.contact_user_id')
            .where('blocks.blocked_user_id', '=', userId),
        ).as('target_blocked_viewer'),
      ])
      .where('contacts.user_id', '=', userId)
      .where('users.deleted_at', 'is', null)
      .orderBy(sql`lower(contacts.contact_name)`)
      .orderBy('users.id')
      .execute()
    // SQLite answers EXISTS with 0/1, PostgreSQL with booleans.
    return rows.map((row) => ({
      ...row,
      target_has_viewer: flag(row.target_has_viewer),
      viewer_blocked_target: flag(row.viewer_blocked_target),
      target_blocked_viewer: flag(row.target_blocked_viewer),
    }))
  }

  findContact(userId: number, contactUserId: number): Promise<{ contact_name: string } | undefined> {
    return this.db
      .selectFrom('contacts')
      .select('contact_name')
      .where('user_id', '=', userId)
      .where('contact_user_id', '=', contactUserId)
      .executeTakeFirst()
  }

  /** Saves `contactUserId` in `userId`'s contacts under `contactName`, renaming an existing entry. */
  async saveContact(userId: number, contactUserId: number, contactName: string, now: number): Promise<void> {
    await this.db
      .insertInto('contacts')
      .values({ user_id: userId, contact_user_id: contactUserId, contact_name: contactName, created_at: now })
      .onConflict((oc) =>
        oc.columns(['user_id', 'contact_user_id']).doUpdateSet({ contact_name: contactName }),
      )
      .execute()
  }

  /** Saves the contact unless it is already saved (an existing entry keeps its name). */
  async addContactIfMissing(
    userId: number,
    contactUserId: number,
    contactName: string,
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto('contacts')
      .values({ user_id: userId, contact_user_id: contactUserId, contact_name: contactName, created_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'contact_user_id']).doNothing())
      .execute()
  }

  /** Returns false when there was no such contact. */
  async removeContact(userId: number, contactUserId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('contacts')
      .where('user_id', '=', userId)
      .where('contact_user_id', '=', contactUserId)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  /** Everyone `userId` has in their contacts or who has `userId` in theirs, in one query. */
  async contactsEitherWay(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('contacts')
      .select('contact_user_id as other_id')
      .where('user_id', '=', userId)
      .union((eb) =>
        eb.selectFrom('contacts').select('user_id as other_id').where('contact_user_id', '=', userId),
      )
      .execute()
    return rows.map((row) => Number(row.other_id))
  }

  /**
   * How `viewerId` stands to each of `targetIds` (contacts either way, blocks either way), in one
   * query: only the facts that hold come back.
   */
  relationEdges(viewerId: number, targetIds: readonly number[]): Promise<RelationEdge[]> {
    const kind = (value: RelationEdgeKind) => sql<RelationEdgeKind>`${sql.lit(value)}`.as('kind')
    // The ids are bound four times: chunked so the statement's size does not follow the caller's list.
    return inChunks([...new Set(targetIds)], (ids) =>
      this.db
        .selectFrom('contacts')
        .select([kind('viewer_has'), 'contact_user_id as other_id'])
        .where('user_id', '=', viewerId)
        .where('contact_user_id', 'in', ids)
        .unionAll((eb) =>
          eb
            .selectFrom('contacts')
            .select([kind('target_has'), 'user_id as other_id'])
            .where('contact_user_id', '=', viewerId)
            .where('user_id', 'in', ids),
        )
        .unionAll((eb) =>
          eb
            .selectFrom('blocks')
            .select([kind('viewer_blocked'), 'blocked_user_id as other_id'])
            .where('user_id', '=', viewerId)
            .where('blocked_user_id', 'in', ids),
        )
        .unionAll((eb) =>
          eb
            .selectFrom('blocks')
            .select([kind('target_blocked'), 'user_id as other_id'])
            .where('blocked_user_id', '=', viewerId)
            .where('user_id', 'in', ids),
        )
        .execute(),
    )
  }

  async block(userId: number, blockedUserId: number, now: number): Promise<void> {
    await this.db
      .insertInto('blocks')
      .values({ user_id: userId, blocked_user_id: blockedUserId, created_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'blocked_user_id']).doNothing())
      .execute()
  }

  async unblock(userId: number, blockedUserId: number): Promise<void> {
    await this.db
      .deleteFrom('blocks')
      .where('user_id', '=', userId)
      .where('blocked_user_id', '=', blockedUserId)
      .execute()
  }

  async createRequest(
    request: Pick<ContactRequestRow, 'from_user_id' | 'to_user_id' | 'message' | 'created_at'>,
  ): Promise<ContactRequestRow> {
    return this.db
      .insertInto('contact_requests')
      .values({ ...request, status: 'pending', responded_at: null })
      .returning(REQUEST_COLUMNS)
      .executeTakeFirstOrThrow()
  }

  findRequest(id: number): Promise<ContactRequestRow | undefined> {
    return this.db
      .selectFrom('contact_requests')
      .select(REQUEST_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst()
  }

  findPendingRequest(fromUserId: number, toUserId: number): Promise<ContactRequestRow | undefined> {
    return this.db
      .selectFrom('contact_requests')
      .select(REQUEST_COLUMNS)
      .where('from_user_id', '=', fromUserId)
      .where('to_user_id', '=', toUserId)
      .where('status', '=', 'pending')
      .orderBy('id')
      .executeTakeFirst()
  }

  /**
   * Pending requests to `userId`, newest first, leaving out those from users `userId` blocks: a
   * blocked user's requests are never shown to the blocker.
   */
  listIncomingPending(userId: number): Promise<ContactRequestRow[]> {
    return this.db
      .selectFrom('contact_requests')
      .select(REQUEST_COLUMNS)
      .where('to_user_id', '=', userId)
      .where('status', '=', 'pending')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('blocks')
              .select('blocks.user_id')
              .where('blocks.user_id', '=', userId)
              .whereRef('blocks.blocked_user_id', '=', 'contact_requests.from_user_id'),
          ),
        ),
      )
      .orderBy('id', 'desc')
      .execute()
  }

  /** Pending requests from `userId`, newest first. */
  listOutgoingPending(userId: number): Promise<ContactRequestRow[]> {
    return this.db
      .selectFrom('contact_requests')
      .select(REQUEST_COLUMNS)
      .where('from_user_id', '=', userId)
      .where('status', '=', 'pending')
      .orderBy('id', 'desc')
      .execute()
  }

  /**
   * Moves a pending request to `status`; returns the updated row, or undefined when it was not pending
   * any more (someone else got there first).
   */
  respondToRequest(
    id: number,
    status: 'accepted' | 'rejected',
    now: number,
  ): Promise<ContactRequestRow | undefined> {
    return this.db
      .updateTable('contact_requests')
      .set({ status, responded_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returning(REQUEST_COLUMNS)
      .executeTakeFirst()
  }

  /** Answers every pending request between the two users, in either direction. */
  async respondToPendingBetween(
    userA: number,
    userB: number,
    status: 'accepted' | 'rejected',
    now: number,
  ): Promise<void> {
    // One statement per direction: SQLite 3.51 fails to plan an UPDATE whose OR of bound parameters
    // meets the partial unique index on pending requests ("internal query planner error").
    for (const [from, to] of [
      [userA, userB],
      [userB, userA],
    ] as const) {
      await this.db
        .updateTable('contact_requests')
        .set({ status, responded_at: now })
        .where('status', '=', 'pending')
        .where('from_user_id', '=', from)
        .where('to_user_id', '=', to)
        .execute()
    }
  }

  /** Rejects the pending requests from one user to another. */
  async rejectPendingFrom(fromUserId: number, toUserId: number, now: number): Promise<void> {
    await this.db
      .updateTable('contact_requests')
      .set({ status: 'rejected', responded_at: now })
      .where('from_user_id', '=', fromUserId)
      .where('to_user_id', '=', toUserId)
      .where('status', '=', 'pending')
      .execute()
  }

  /** Withdraws (deletes) pending requests from one user to another. */
  async deletePendingFrom(fromUserId: number, toUserId: number): Promise<void> {
    await this.db
      .deleteFrom('contact_requests')
      .where('from_user_id', '=', fromUserId)
      .where('to_user_id', '=', toUserId)
      .where('status', '=', 'pending')
      .execute()
  }

  /** Deletes a pending request; returns false when it was not pending any more. */
  async deletePendingRequest(id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('contact_requests')
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
