import { type TSchema, Type } from '@sinclair/typebox'

/** Database ids are positive integers on the wire. */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const Timestamp = Type.String({ format: 'date-time' })
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

export const Visibility = Type.Union([
  Type.Literal('everyone'),
  Type.Literal('contacts'),
  Type.Literal('nobody'),
])

export const SuccessOnly = Type.Object({ success: Type.Literal(true), message: Type.Optional(Type.String()) })

export const ErrorResponse = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorResponse' },
)

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** Opaque cursor pagination for lists that can grow. */
export const CursorQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
})
export const CursorPage = Type.Object({ next_cursor: Nullable(Type.String()), has_more: Type.Boolean() })
