import type { MultipartFile } from '@fastify/multipart'
import { AvatarForm, AvatarResponse, GroupAvatarForm, GroupParams, GroupResponse } from '@parley/protocol'
import type { FastifyRequest } from 'fastify'
import { groupForMember } from '../../access/groups.ts'
import { discardUploads } from '../../actions/discard-uploads.ts'
import { setGroupAvatar } from '../../actions/groups.ts'
import { setUserAvatar } from '../../actions/profile.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { ingestStream } from '../../media/ingest.ts'
import { presentGroup } from '../../presenters/group.presenter.ts'
import type { AttachmentRow } from '../../store/schema.ts'
import { names, readMultipart } from '../multipart.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const NO_FIELDS = names()

/**
 * Reads a form whose only part is one image, streamed into the media pipeline as an avatar (resized
 * to the avatar sizes by the pipeline): the ready attachment, or the coded refusal.
 */
export async function readAvatarForm(
  deps: Deps,
  request: FastifyRequest,
  ownerId: number,
): Promise<AttachmentRow> {
  let avatar: AttachmentRow | null = null
  await readMultipart(request, {
    fields: NO_FIELDS,
    files: new Map([['avatar', 1]]),
    onField: () => {},
    onFile: async (_name, part) => {
      avatar = await ingestAvatar(deps, ownerId, part)
    },
  })
  if (!avatar)
    throw errors.validation('An avatar image is required', [{ field: 'avatar', message: 'is required' }])
  return avatar
}

/** One image part as an avatar attachment of `ownerId`. */
export function ingestAvatar(
  deps: Deps,
  ownerId: number,
  part: Pick<MultipartFile, 'mimetype' | 'filename' | 'file'>,
): Promise<AttachmentRow> {
  return ingestStream(deps, {
    ownerId,
    kind: 'image',
    declaredMime: part.mimetype,
    fileName: part.filename || null,
    purpose: 'avatar',
    source: part.file,
  })
}

const avatarErrors = errorsOf(400, 401, 413, 415, 422, 429)

/** Profile and group photos (seed 002 "Upload Avatar"; the group routes follow the same shape). */
export function avatarRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)

  app.post(
    '/api/user/avatar',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Upload your profile photo',
        description:
          'multipart/form-data with one image in `avatar` (JPEG, PNG, GIF or WebP, at most 10 MB). It is checked and resized to 150, 300 and 600 px; `avatar_url` names the 300 px size (`…/avatar_150`, `…/avatar_600` the others). Who sees it follows your `profile_photo` privacy setting. Replaces the previous photo.',
        security: secured,
        body: { content: { 'multipart/form-data': { schema: AvatarForm } } },
        response: { 200: AvatarResponse, ...avatarErrors },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      const attachment = await readAvatarForm(deps, request, userId)
      try {
        const user = await setUserAvatar(deps, { actorId: userId, attachment })
        return { success: true as const, avatar_url: user.avatar_url }
      } finally {
        await discardUploads(deps, [attachment])
      }
    },
  )

  app.delete(
    '/api/user/avatar',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Remove your profile photo',
        security: secured,
        response: { 200: AvatarResponse, ...errorsOf(401, 429) },
      },
    },
    async (request) => {
      const user = await setUserAvatar(deps, { actorId: caller(request).userId, attachment: null })
      return { success: true as const, avatar_url: user.avatar_url }
    },
  )

  app.put(
    '/api/groups/:id/avatar',
    {
      onRequest,
      schema: {
        tags: ['groups'],
        summary: "Change a group's photo",
        description:
          'Admins only. multipart/form-data with one image in `avatar`, as for `POST /api/user/avatar`. Members get `chat:updated` with the new `avatar_url` and a `group_updated` system message.',
        security: secured,
        params: GroupParams,
        body: { content: { 'multipart/form-data': { schema: GroupAvatarForm } } },
        response: { 200: GroupResponse, ...errorsOf(400, 401, 403, 404, 413, 415, 422, 429) },
      },
    },
    async (request) => {
      const { userId } = caller(request)
      // Before a byte is stored: strangers get not_found, members who are not admins forbidden.
      const { member } = await groupForMember(deps, userId, request.params.id)
      if (member.role !== 'admin') throw errors.forbidden('Only group admins can do this')
      const avatar = await readAvatarForm(deps, request, userId)
      try {
        const { chat, participantsCount } = await setGroupAvatar(deps, {
          actorId: userId,
          groupId: request.params.id,
          avatar,
        })
        return { success: true as const, group: presentGroup(chat, participantsCount) }
      } finally {
        await discardUploads(deps, [avatar])
      }
    },
  )

  app.delete(
    '/api/groups/:id/avatar',
    {
      onRequest,
      schema: {
        tags: ['groups'],
        summary: "Remove a group's photo",
        description: 'Admins only. Members get `chat:updated` and a `group_updated` system message.',
        security: secured,
        params: GroupParams,
        response: { 200: GroupResponse, ...errorsOf(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const { chat, participantsCount } = await setGroupAvatar(deps, {
        actorId: caller(request).userId,
        groupId: request.params.id,
        avatar: null,
      })
      return { success: true as const, group: presentGroup(chat, participantsCount) }
    },
  )
}
