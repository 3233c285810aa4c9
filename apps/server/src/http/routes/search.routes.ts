import type { Deps } from '../../deps.ts'
import type { App } from '../types.ts'

export function searchRoutes(_app: App, _deps: Deps) {}
