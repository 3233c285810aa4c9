import type { Deps } from '../../deps.ts'
import type { App } from '../types.ts'

export function groupsRoutes(_app: App, _deps: Deps) {}
