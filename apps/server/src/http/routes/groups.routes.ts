import {
  AddMembersBody,
  AddMembersResponse,
  CreateGroupBody,
  CreateGroupForm,
  CreateGroupResponse,
  GroupInfoResponse,
  GroupMemberParams,
  GroupParams,
  GroupResponse,
  MemberRoleResponse,
  SuccessOnly,
  UpdateGroupBody,
} from '@parley/protocol'
import type { FastifyRequest } from 'fastify'
import { groupForMember, groupInfoView } from '../../access/groups.ts'
import { discardUploads } from '../../actions/discard-uploads.ts'
import {
  addGroupMembers,
  createGroup,
  leaveGroup,
  removeGroupMember,
  setGroupRole,
  updateGroup,
} from '../../actions/groups.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { presentGroup } from '../../presenters/group.presenter.ts'
import type { AttachmentRow } from '../../store/schema.ts'
import { createAjv, validationDetails } from '../../validation.ts'
import { names, readMultipart } from '../multipart.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'
import { ingestAvatar } from './avatars.routes.ts'

const tags = ['groups']

/**
 * Group management (seed 002 "Group Chat APIs"). A group is a chat: messages, history, receipts and
 * settings use `/api/chats/:id`. Strangers and former members get `not_found`; members who are not
 * admins get `forbidden` for what only admins may do.
 */
export function groupsRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)
  const checkCreate = createAjv(false).compile<CreateGroupBody>(CreateGroupBody)

  /**
   * Seed 002's multipart Create Group: `name`, `description`, `participants` (a JSON array, as the seed
   * writes `[456, 789, 101]`, or one field per id) and an optional `avatar` image, ingested as it arrives.
   */
  async function readCreateForm(
    request: FastifyRequest,
    actorId: number,
    uploads: AttachmentRow[],
  ): Promise<{ body: CreateGroupBody; avatar: AttachmentRow | null }> {
    const fields: Record<string, string> = {}
    const participants: unknown[] = []
    let avatar: AttachmentRow | null = null
    await readMultipart(request, {
      fields: names('name', 'description', 'participants'),
      repeated: names('participants'),
      files: new Map([['avatar', 1]]),
      onField: (name, value) => {
        if (name !== 'participants') {
          fields[name] = value
          return
        }
        const text = value.trim()
        let parsed: unknown = text
        if (text.startsWith('[')) {
          try {
            parsed = JSON.parse(text)
          } catch {
            throw errors.validation('participants must be a JSON array of user ids', [
              { field: 'participants', message: 'must be a JSON array of ids' },
            ])
          }
        }
        for (const id of Array.isArray(parsed) ? parsed : [parsed]) {
          participants.push(typeof id === 'string' && /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : id)
          if (participants.length > deps.config.maxGroupSize)
            throw errors.validation(`A group can have at most ${deps.config.maxGroupSize} members`, {
              limit: deps.config.maxGroupSize,
            })
        }
      },
      onFile: async (_name, part) => {
        avatar = await ingestAvatar(deps, actorId, part)
        uploads.push(avatar)
      },
    })
    const body = {
      name: fields.name,
      participants,
      ...(fields.description === undefined ? {} : { description: fields.description }),
    }
    if (!checkCreate(body)) {
      const details = validationDetails(checkCreate.errors)
      throw errors.validation(
        `Invalid body: ${details.map((d) => `${d.field ?? 'body'} ${d.message}`).join('; ')}`,
        details,
      )
    }
    return { body, avatar }
  }

  app.post(
    '/api/groups',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Create a group',
        description:
          'The caller becomes the group admin and `participants` its members. Users who cannot be added ' +
          '(unknown, or not allowed) are listed in `not_added`. Every member gets `chat:created`, and the ' +
          'history opens with a `group_created` system message. Fails with `validation_error` ' +
          '(details `{limit}`) when the group would be larger than the configured maximum. ' +
          'multipart/form-data (seed 002) takes the same fields as text, `participants` as a JSON array or repeated, and an optional `avatar` image (as for `POST /api/user/avatar`).',
        security: secured,
        body: {
          content: {
            'application/json': { schema: CreateGroupBody },
            'multipart/form-data': { schema: CreateGroupForm },
          },
        },
        response: { 201: CreateGroupResponse, ...errorsOf(400, 401, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const { userId } = caller(request)
      const uploads: AttachmentRow[] = []
      try {
        const { body, avatar } = request.isMultipart()
          ? await readCreateForm(request, userId, uploads)
          : // Validated against CreateGroupBody by the route's schema (JSON is the only other parser).
            { body: request.body as CreateGroupBody, avatar: null }
        const { chat, participantsCount, notAdded } = await createGroup(deps, {
          actorId: userId,
          body,
          avatar,
        })
        return reply.status(201).send({
          success: true as const,
          group: presentGroup(chat, participantsCount),
          not_added: notAdded,
        })
      } finally {
        // An avatar the group did not take (the request was refused) is removed.
        await discardUploads(deps, uploads)
      }
    },
  )

  app.get(
    '/api/groups/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Group info with its members',
        description:
          'Members only. Participants come in joining order with their role; avatars follow each ' +
          "member's privacy settings. The group is under `group` and, as seed 002 shows it, also at the top level.",
        security: secured,
        params: GroupParams,
        response: { 200: GroupInfoResponse, ...errorsOf(401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { chat } = await groupForMember(deps, userId, request.params.id)
      const group = await groupInfoView(deps.store.db, userId, chat)
      return { success: true as const, group, ...group }
    },
  )

  app.put(
    '/api/groups/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Change the group name or description',
        description:
          'Admins only. Members get `chat:updated` and a `group_updated` system message; setting the ' +
          'values the group already has changes nothing.',
        security: secured,
        params: GroupParams,
        body: UpdateGroupBody,
        response: { 200: GroupResponse, ...errorsOf(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      await groupForMember(deps, userId, request.params.id)
      const { chat, participantsCount } = await updateGroup(deps, {
        actorId: userId,
        groupId: request.params.id,
        body: request.body,
      })
      return { success: true as const, group: presentGroup(chat, participantsCount) }
    },
  )

  app.post(
    '/api/groups/:id/members',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Add members',
        description:
          'Admins only. New members see the whole history and get `chat:created`; members already there ' +
          'get `chat:member_added`; everyone gets a `members_added` system message. Users who were not ' +
          'added are listed in `not_added` with a reason (`not_found`, `already_member`, `not_allowed`). ' +
          'Fails with `validation_error` (details `{limit}`) if the group would exceed its maximum size.',
        security: secured,
        params: GroupParams,
        body: AddMembersBody,
        response: { 200: AddMembersResponse, ...errorsOf(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      await groupForMember(deps, userId, request.params.id)
      const { added, notAdded } = await addGroupMembers(deps, {
        actorId: userId,
        groupId: request.params.id,
        userIds: request.body.user_ids,
      })
      return { success: true as const, added_members: added, not_added: notAdded }
    },
  )

  app.delete(
    '/api/groups/:id/members/:user_id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Remove a member (or yourself: leave)',
        description:
          'Admins remove others; anyone may remove themselves, which is leaving. The removed user gets ' +
          '`chat:member_removed` and can no longer read or write the chat.',
        security: secured,
        params: GroupMemberParams,
        response: { 200: SuccessOnly, ...errorsOf(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { id, user_id } = request.params
      await groupForMember(deps, userId, id)
      await removeGroupMember(deps, { actorId: userId, groupId: id, userId: user_id })
      return {
        success: true as const,
        message: user_id === userId ? 'Left group successfully' : 'Member removed successfully',
      }
    },
  )

  app.post(
    '/api/groups/:id/leave',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Leave a group',
        description:
          'The other members get a `member_left` system message and `chat:member_removed`. When the last ' +
          'admin leaves, the longest-standing member becomes admin (`chat:member_role`).',
        security: secured,
        params: GroupParams,
        response: { 200: SuccessOnly, ...errorsOf(401, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      await groupForMember(deps, userId, request.params.id)
      await leaveGroup(deps, { actorId: userId, groupId: request.params.id })
      return { success: true as const, message: 'Left group successfully' }
    },
  )

  app.put(
    '/api/groups/:id/admins/:user_id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Make a member an admin',
        description: 'Admins only. Members get `chat:member_role` and an `admin_promoted` system message.',
        security: secured,
        params: GroupMemberParams,
        response: { 200: MemberRoleResponse, ...errorsOf(401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { id, user_id } = request.params
      await groupForMember(deps, userId, id)
      await setGroupRole(deps, { actorId: userId, groupId: id, userId: user_id, role: 'admin' })
      return { success: true as const, member: { id: user_id, role: 'admin' as const } }
    },
  )

  app.delete(
    '/api/groups/:id/admins/:user_id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Make an admin a plain member again',
        description:
          'Admins only (an admin may step down). Demoting the only admin is a `conflict`: make someone ' +
          'else admin first, or leave.',
        security: secured,
        params: GroupMemberParams,
        response: { 200: MemberRoleResponse, ...errorsOf(401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const { id, user_id } = request.params
      await groupForMember(deps, userId, id)
      await setGroupRole(deps, { actorId: userId, groupId: id, userId: user_id, role: 'member' })
      return { success: true as const, member: { id: user_id, role: 'member' as const } }
    },
  )
}
