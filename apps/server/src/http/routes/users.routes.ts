import type { Deps } from '../../deps.ts'
import type { App } from '../types.ts'

export function userRoutes(_app: App, _deps: Deps) {}
