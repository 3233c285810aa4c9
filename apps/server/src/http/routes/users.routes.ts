import {
  OwnProfileResponse,
  PrivacyResponse,
  ProfileResponse,
  UpdatePrivacyBody,
  UpdateProfileBody,
  UserParams,
  UserResponse,
  UserSearchQuery,
  UserSearchResponse,
} from '@parley/protocol'
import { relationTo } from '../../access/relations.ts'
import { searchUsers, userById } from '../../access/users.ts'
import { updatePrivacy, updateProfile } from '../../actions/profile.ts'
import type { Deps } from '../../deps.ts'
import { NO_RELATION, presentOwnProfile, presentPublicUser } from '../../presenters/user.presenter.ts'
import { authenticate, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

export function userRoutes(app: App, deps: Deps) {
  const onRequest = authenticate(deps)
  /** Presence of many users, one call per request. */
  const onlineOf = (ids: readonly number[]) => deps.presence.onlineOf(ids)
  const isOnline = async (id: number) => ({ isOnline: (await onlineOf([id])).has(id) })

  app.get(
    '/api/user/profile',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Get your own profile',
        description:
          'The profile is under `user` and, as seed 002 shows it, also at the top level (the same fields).',
        security: secured,
        response: { 200: OwnProfileResponse, ...errorsOf(401, 429) },
      },
    },
    async (request) => {
      const user = await userById(deps, caller(request).userId)
      const profile = presentOwnProfile(user, await isOnline(user.id))
      return { success: true as const, user: profile, ...profile }
    },
  )

  app.put(
    '/api/user/profile',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Change your name and/or about',
        description: 'Only the fields sent are changed; at least one is required.',
        security: secured,
        body: UpdateProfileBody,
        response: { 200: ProfileResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const user = await updateProfile(deps, {
        actorId: caller(request).userId,
        name: request.body.name,
        about: request.body.about,
      })
      return { success: true as const, user: presentOwnProfile(user, await isOnline(user.id)) }
    },
  )

  app.put(
    '/api/user/privacy',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Choose who sees your last seen, photo and about',
        description:
          'Each setting is `everyone`, `contacts` (people who are in your contacts) or `nobody`. Only the settings sent are changed.',
        security: secured,
        body: UpdatePrivacyBody,
        response: { 200: PrivacyResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const user = await updatePrivacy(deps, { actorId: caller(request).userId, settings: request.body })
      return {
        success: true as const,
        privacy_settings: presentOwnProfile(user, { isOnline: false }).privacy_settings,
      }
    },
  )

  app.get(
    '/api/users/search',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: 'Find people by username, name or phone number',
        description:
          'Matches usernames and names that start with `q` (case-insensitive), or the exact phone number when `q` is one in international form. A phone-number search spends one of your daily phone-number look-ups (`PARLEY_PHONE_LOOKUPS_PER_DAY`, found or not); past them `rate_limited` with `retry_after`. Leaves out yourself and people who blocked you. Pages in id order; pass `pagination.next_cursor` as `cursor` for the next page.',
        security: secured,
        querystring: UserSearchQuery,
        response: { 200: UserSearchResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const viewerId = caller(request).userId
      const { users, relations, nextCursor } = await searchUsers(deps, viewerId, request.query)
      const online = await onlineOf(users.map((user) => user.id))
      return {
        success: true as const,
        users: users.map((user) =>
          presentPublicUser(user, relations.get(user.id) ?? NO_RELATION, { isOnline: online.has(user.id) }),
        ),
        pagination: { next_cursor: nextCursor, has_more: nextCursor !== null },
      }
    },
  )

  app.get(
    '/api/users/:id',
    {
      onRequest,
      schema: {
        tags: ['users'],
        summary: "Get another user's profile",
        description:
          "Fields the user's privacy settings hide from you are null (`is_online` false). Someone who blocked you shows nothing private.",
        security: secured,
        params: UserParams,
        response: { 200: UserResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request) => {
      const viewerId = caller(request).userId
      const user = await userById(deps, request.params.id)
      const [relation, presence] = await Promise.all([
        relationTo(deps.store.db, viewerId, user.id),
        isOnline(user.id),
      ])
      return { success: true as const, user: presentPublicUser(user, relation, presence) }
    },
  )
}
