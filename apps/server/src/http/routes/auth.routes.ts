import {
  AuthResponse,
  LoginBody,
  RefreshBody,
  RefreshResponse,
  RegisterBody,
  SendOtpBody,
  SendOtpResponse,
  SessionParams,
  SessionsResponse,
  SuccessOnly,
  VerifyOtpBody,
} from '@parley/protocol'
import type { FastifyRequest } from 'fastify'
import { cleanName } from '../../actions/names.ts'
import { listSessions, refreshSession, revokeSession } from '../../actions/sessions.ts'
import { login, register, sendOtp, verifyOtp } from '../../actions/sign-in.ts'
import { normalisePhone } from '../../auth/phone.ts'
import type { Deps } from '../../deps.ts'
import { errors } from '../../errors.ts'
import { presentOwnProfile } from '../../presenters/user.presenter.ts'
import { authenticate, bearerToken, caller } from '../plugins/authenticate.ts'
import { errorsOf, secured } from '../route-schema.ts'
import type { App } from '../types.ts'

const tags = ['auth']

/** Checked here, before a code is used or an account made: a device name that shows nothing is refused. */
const device = (request: FastifyRequest, deviceName?: string) => ({
  deviceName: deviceName === undefined ? undefined : cleanName(deviceName, 'device_name'),
  ip: request.ip,
  userAgent: request.headers['user-agent'] ?? null,
})

export function authRoutes(app: App, deps: Deps) {
  app.post(
    '/api/auth/send-otp',
    {
      schema: {
        tags,
        summary: 'Text a 6-digit sign-in code to a phone number',
        description:
          'Codes expire after 5 minutes and allow 5 attempts. At most 3 codes per number per hour and a per-IP cap. The answer is the same whether or not the number has an account.',
        body: SendOtpBody,
        response: { 200: SendOtpResponse, ...errorsOf(400, 429) },
      },
    },
    async (request) => {
      const phoneNumber = normalisePhone(request.body.phone_number, request.body.country_code)
      const { expiresAt } = await sendOtp(deps, { phoneNumber, ip: request.ip })
      return { success: true as const, message: 'OTP sent successfully', expires_at: expiresAt }
    },
  )

  app.post(
    '/api/auth/verify-otp',
    {
      schema: {
        tags,
        summary: 'Sign in (or sign up) with the texted code',
        body: VerifyOtpBody,
        response: { 200: AuthResponse, ...errorsOf(400, 429) },
      },
    },
    async (request) => {
      const phoneNumber = normalisePhone(request.body.phone_number, request.body.country_code)
      const { user, tokens } = await verifyOtp(deps, {
        phoneNumber,
        otp: request.body.otp,
        device: device(request, request.body.device_name),
      })
      return { success: true as const, user: presentOwnProfile(user, { isOnline: false }), tokens }
    },
  )

  app.post(
    '/api/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account with a username and password',
        body: RegisterBody,
        response: { 201: AuthResponse, ...errorsOf(400, 409, 429) },
      },
    },
    async (request, reply) => {
      const { user, tokens } = await register(deps, {
        username: request.body.username,
        password: request.body.password,
        name: request.body.name,
        device: device(request, request.body.device_name),
      })
      return reply
        .status(201)
        .send({ success: true as const, user: presentOwnProfile(user, { isOnline: false }), tokens })
    },
  )

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with a username and password',
        description:
          'Five attempts in 15 minutes per account and IP are checked (counted before the check; a success clears them); past them every try, the right password too, gets `rate_limited` with `retry_after`.',
        body: LoginBody,
        response: { 200: AuthResponse, ...errorsOf(400, 401, 429) },
      },
    },
    async (request) => {
      const { user, tokens } = await login(deps, {
        username: request.body.username,
        password: request.body.password,
        device: device(request, request.body.device_name),
      })
      return { success: true as const, user: presentOwnProfile(user, { isOnline: false }), tokens }
    },
  )

  app.post(
    '/api/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Rotate a refresh token for a new access token',
        description:
          'The refresh token goes in `Authorization: Bearer` (seed 002) or in the body. Every use returns a new refresh token; presenting a used one revokes the whole session.',
        body: RefreshBody,
        response: { 200: RefreshResponse, ...errorsOf(400, 401) },
      },
      // Seed 002 clients send no body at all (the token rides in the header).
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) => {
      const token = request.body?.refresh_token ?? bearerToken(request)
      if (!token) throw errors.unauthorized('A refresh token is required')
      return { success: true as const, ...(await refreshSession(deps, token)) }
    },
  )

  app.post(
    '/api/auth/logout',
    {
      onRequest: authenticate(deps),
      schema: {
        tags,
        summary: 'Sign out this device',
        security: secured,
        response: { 200: SuccessOnly, ...errorsOf(401) },
      },
    },
    async (request) => {
      const auth = caller(request)
      await revokeSession(deps, auth, auth.sessionId)
      return { success: true as const, message: 'Logged out successfully' }
    },
  )

  app.get(
    '/api/auth/sessions',
    {
      onRequest: authenticate(deps),
      schema: {
        tags,
        summary: 'List signed-in devices',
        security: secured,
        response: { 200: SessionsResponse, ...errorsOf(401) },
      },
    },
    async (request) => ({ success: true as const, sessions: await listSessions(deps, caller(request)) }),
  )

  app.delete(
    '/api/auth/sessions/:id',
    {
      onRequest: authenticate(deps),
      schema: {
        tags,
        summary: 'Sign out another device at once',
        security: secured,
        params: SessionParams,
        response: { 200: SuccessOnly, ...errorsOf(401, 404) },
      },
    },
    async (request) => {
      await revokeSession(deps, caller(request), request.params.id)
      return { success: true as const, message: 'Session revoked' }
    },
  )
}
