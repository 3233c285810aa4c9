import { AckFrame, HelloFrame, PingFrame, TypingStartFrame, TypingStopFrame } from '@parley/protocol'
import type { Static, TSchema } from '@sinclair/typebox'
import type { ValidateFunction } from 'ajv'
import { createAjv } from '../validation.ts'

/**
 * The protocol's client frames (packages/protocol/src/socket.ts), compiled once by the validator REST
 * bodies go through (validation.ts): one schema, one verdict on both transports.
 */
const ajv = createAjv()
export const compileFrame = <T extends TSchema>(schema: T): ValidateFunction<Static<T>> =>
  ajv.compile<Static<T>>(schema)

export const checkHello = compileFrame(HelloFrame)
export const checkAck = compileFrame(AckFrame)
export const checkPing = compileFrame(PingFrame)
export const checkTypingStart = compileFrame(TypingStartFrame)
export const checkTypingStop = compileFrame(TypingStopFrame)
