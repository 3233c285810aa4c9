import type { Deps } from '../../deps.ts'
import type { App } from '../types.ts'

export function messageOpsRoutes(_app: App, _deps: Deps) {}
