import { SeedUsersBody, SeedUsersResponse } from '@parley/protocol'
import { seedUsers } from '../../actions/admin-seed.ts'
import { cleanName } from '../../actions/names.ts'
import type { Deps } from '../../deps.ts'
import { authenticateAdmin } from '../plugins/authenticate.ts'
import { adminSecured, errorsOf } from '../route-schema.ts'
import type { App } from '../types.ts'

const DEFAULT_NAME_PREFIX = 'bench'

/** The admin API: load-test seeding for `bench/`. Off (404) unless PARLEY_ADMIN_TOKEN is set. */
export function adminRoutes(app: App, deps: Deps) {
  const onRequest = authenticateAdmin(deps)

  app.post(
    '/api/admin/seed/users',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'Create signed-in users in bulk (load tests)',
        description:
          'Creates `count` users without password or phone, usernames `<name_prefix>_<10 hex>`, each with one session opened as a sign-in opens it: the access tokens work for REST and the `/ws` hello, the refresh tokens with `POST /api/auth/refresh`. `access_token_ttl_seconds` sets the lifetime of these access tokens only. Answers 404 unless PARLEY_ADMIN_TOKEN is set.',
        security: adminSecured,
        body: SeedUsersBody,
        response: { 201: SeedUsersResponse, ...errorsOf(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const namePrefix = request.body.name_prefix ?? DEFAULT_NAME_PREFIX
      const users = await seedUsers(deps, {
        count: request.body.count,
        namePrefix,
        device: {
          deviceName:
            request.body.device_name === undefined
              ? undefined
              : cleanName(request.body.device_name, 'device_name'),
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
        },
        accessTokenTtlSeconds: request.body.access_token_ttl_seconds,
      })
      request.log.info({ count: users.length, name_prefix: namePrefix }, 'admin: seeded users')
      return reply.status(201).send({ success: true as const, users })
    },
  )
}
