export * from './rest.ts'
