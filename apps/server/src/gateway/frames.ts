import {
  AckFrame,
  HelloFrame,
  PingFrame,
  SOCKET_REQUEST_OPS,
  SOCKET_REQUESTS,
  type SocketRequestOp,
  TypingStartFrame,
  TypingStopFrame,
} from '@parley/protocol'
import type { TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'

/** The protocol's client frames (packages/protocol/src/socket.ts), compiled once. */
export const checkHello = TypeCompiler.Compile(HelloFrame)
export const checkAck = TypeCompiler.Compile(AckFrame)
export const checkPing = TypeCompiler.Compile(PingFrame)
export const checkTypingStart = TypeCompiler.Compile(TypingStartFrame)
export const checkTypingStop = TypeCompiler.Compile(TypingStopFrame)

/**
 * One checker per request op, so a bad frame's error names the right schema. A Map, not an object:
 * a look-up by a client's `op` must never find what Object.prototype holds (`__proto__`, `toString`).
 */
export const requestCheckers: ReadonlyMap<string, TypeCheck<TSchema>> = new Map<
  SocketRequestOp,
  TypeCheck<TSchema>
>(SOCKET_REQUEST_OPS.map((op) => [op, TypeCompiler.Compile(SOCKET_REQUESTS[op].frame)]))

/** A schema's errors as the `details` of a validation_error (the shape REST answers with). */
export function validationDetails(check: TypeCheck<TSchema>, value: unknown) {
  return [...check.Errors(value)].slice(0, 5).map((error) => ({
    field: error.path.replace(/^\//, '').replaceAll('/', '.') || null,
    message: error.message,
  }))
}
