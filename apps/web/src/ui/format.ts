import { strings } from '../strings.ts'

const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' })
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' })
const dayWithYear = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' })
const shortDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' })

/** "14:05" in the reader's locale. */
export const formatTime = (iso: string) => time.format(new Date(iso))

/** A local calendar day, for grouping messages under day separators. */
export const dayKey = (iso: string) => {
  const date = new Date(iso)
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`
}

/** "Today", "Yesterday", "Monday 3 March", or with the year when it is not this year. */
export function formatDay(iso: string, now = new Date()): string {
  const date = new Date(iso)
  if (dayKey(iso) === dayKey(now.toISOString())) return strings.conversation.today
  const yesterday = new Date(now)
  yesterday.setDate(now.getDate() - 1)
  if (dayKey(iso) === dayKey(yesterday.toISOString())) return strings.conversation.yesterday
  return date.getFullYear() === now.getFullYear() ? day.format(date) : dayWithYear.format(date)
}

/** Chat list time: the time today, else a short date. */
export function formatListTime(iso: string, now = new Date()): string {
  return dayKey(iso) === dayKey(now.toISOString()) ? formatTime(iso) : shortDay.format(new Date(iso))
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** "today at 14:05", "yesterday at 09:12", "3 March at 18:00" — for "last seen …". */
export function formatLastSeen(iso: string, now = new Date()): string {
  const yesterday = new Date(now)
  yesterday.setDate(now.getDate() - 1)
  const at = formatTime(iso)
  if (dayKey(iso) === dayKey(now.toISOString())) return `${relative.format(0, 'day')} ${at}`
  if (dayKey(iso) === dayKey(yesterday.toISOString())) return `${relative.format(-1, 'day')} ${at}`
  return `${shortDay.format(new Date(iso))} ${at}`
}
