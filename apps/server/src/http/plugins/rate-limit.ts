/** Moved to limits/enforce.ts (the gateway uses it too, and may not import from http/); kept as an alias. */
export { enforceLimit } from '../../limits/enforce.ts'
