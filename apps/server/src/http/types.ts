import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'

/** The Fastify instance every route file receives: TypeBox schemas type the handlers. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

import type { Auth } from '../auth/session-auth.ts'

/** Who is calling: set by the `authenticate` hook on routes that need a signed-in user. */
export type { Auth }

declare module 'fastify' {
  interface FastifyRequest {
    auth: Auth | null
  }
}
