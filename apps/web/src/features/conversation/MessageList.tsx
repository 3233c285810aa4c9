import type { Chat, Message } from '@parley/protocol'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react'
import { useClient, useStore } from '../../client/react.tsx'
import { firstUnreadId, type Outgoing, type Upload } from '../../client/store.ts'
import { strings } from '../../strings.ts'
import { dayKey, formatDay } from '../../ui/format.ts'
import { summary } from '../chats/ChatList.tsx'
import { MessageBubble, type MessageHandlers, OutgoingBubble, UploadBubble } from './MessageBubble.tsx'

type Row =
  | { kind: 'start'; key: string }
  | { kind: 'day'; key: string; label: string }
  | { kind: 'unread'; key: string; count: number }
  | { kind: 'message'; key: string; message: Message }
  | { kind: 'outgoing'; key: string; entry: Outgoing }
  | { kind: 'upload'; key: string; upload: Upload }

/** Rows this close to either end of the window start loading the next page. */
const LOAD_MARGIN_ROWS = 10
/** Older pages loaded at most, on opening, to reach the first unread message. */
const MAX_PAGES_TO_UNREAD = 10
/** Within this many pixels of the bottom the reader counts as "at the latest message". */
const AT_END_PX = 64

/**
 * The history of one chat, virtualised (TanStack Virtual, docs/decisions/0015): only the rows on
 * screen and a few either side are in the DOM, whatever the window holds. Older pages load as the
 * top comes near, newer ones (after a jump back in history) as the bottom does; the virtualiser keeps
 * the row under the reader in place when rows are put above it (`anchorTo: 'end'`) and follows new
 * messages while the reader is at the bottom (`followOnAppend`).
 */
export function MessageList({
  chat,
  focusMessageId,
  onReply,
  onEdit,
  onForward,
  onNotice,
  onJumpedToLatest,
}: {
  chat: Chat
  focusMessageId?: number
  onReply: (message: Message) => void
  onEdit: (message: Message) => void
  onForward: (message: Message) => void
  onNotice: (text: string) => void
  onJumpedToLatest: () => void
}) {
  const client = useClient()
  const conversation = useStore((state) => state.conversations[chat.id])
  const outgoing = useStore((state) => state.outgoing)
  const uploads = useStore((state) => state.uploads)
  const lastIncoming = useStore((state) => state.lastIncoming)
  const meId = useStore((state) => state.me?.id ?? 0)
  const scroller = useRef<HTMLDivElement>(null)
  // The unread count as the chat was opened: it drops to 0 as soon as the chat is read.
  const [unreadAtOpen] = useState(() => chat.unread_count)
  // undefined: not known yet (older pages may have to load first); null: no divider.
  const [dividerId, setDividerId] = useState<number | null | undefined>(
    unreadAtOpen > 0 && focusMessageId === undefined ? undefined : null,
  )
  const pagesToUnread = useRef(0)
  const [highlight, setHighlight] = useState<number | null>(null)
  const [atEnd, setAtEnd] = useState(true)
  /** Where to scroll once the rows are rendered: a message, the bottom, or nothing. */
  const pendingScroll = useRef<{ to: 'message'; id: number } | { to: 'end' } | { to: 'divider' } | null>(
    focusMessageId === undefined ? null : { to: 'message', id: focusMessageId },
  )
  const positioned = useRef(false)
  /** True once the first position has been scrolled to: only then do the ends load more pages. */
  const [settled, setSettled] = useState(false)

  // The newest page, unless a deep link is about to load the page around its message instead (jumpTo):
  // both at once could leave a hole in the window. After that jump, an emptied history (a resync)
  // reloads from the newest page again.
  const [jumped, setJumped] = useState(false)
  const waitForJump = focusMessageId !== undefined && !jumped
  useEffect(() => {
    if (!conversation?.loaded && !waitForJump) {
      void client.loadHistory(chat.id, { direction: 'newest' }).catch(() => {})
    }
  }, [client, chat.id, conversation?.loaded, waitForJump])

  // The first unread message from others: older pages load (a few at most) until it is in the window.
  useEffect(() => {
    if (dividerId !== undefined || !conversation?.loaded || conversation.loading) return
    const others = conversation.order.filter((id) => {
      const message = conversation.byId[id]
      return message && message.sender_id !== meId && message.message_type !== 'system'
    }).length
    if (others < unreadAtOpen && conversation.hasMoreBefore && pagesToUnread.current < MAX_PAGES_TO_UNREAD) {
      pagesToUnread.current += 1
      void client.loadHistory(chat.id, { direction: 'older' }).catch(() => setDividerId(null))
      return
    }
    setDividerId(firstUnreadId(conversation, meId, unreadAtOpen))
  }, [client, chat.id, conversation, dividerId, meId, unreadAtOpen])

  const rows = useMemo(() => {
    const out: Row[] = []
    if (conversation?.loaded && !conversation.hasMoreBefore) out.push({ kind: 'start', key: 'start' })
    let lastDay = ''
    // A separator's key is its first message's: when older messages of the same day arrive above, the
    // old separator goes and a new one heads the day (see the prepend anchoring below).
    const addDay = (iso: string, firstKey: string) => {
      const key = dayKey(iso)
      if (key !== lastDay) {
        lastDay = key
        out.push({ kind: 'day', key: `day-${firstKey}`, label: formatDay(iso) })
      }
    }
    for (const id of conversation?.order ?? []) {
      const message = conversation?.byId[id]
      if (!message) continue
      addDay(message.sent_at, `m-${id}`)
      if (id === dividerId) out.push({ kind: 'unread', key: 'unread', count: unreadAtOpen })
      out.push({ kind: 'message', key: `m-${id}`, message })
    }
    // Pending sends belong at the live end; a window back in history does not show them.
    if (!conversation?.hasMoreAfter) {
      for (const entry of outgoing) {
        if (entry.chatId !== chat.id) continue
        addDay(entry.createdAt, `o-${entry.clientMsgId}`)
        out.push({ kind: 'outgoing', key: `o-${entry.clientMsgId}`, entry })
      }
      for (const upload of uploads) {
        if (upload.chatId !== chat.id) continue
        addDay(upload.createdAt, `u-${upload.clientMsgId}`)
        out.push({ kind: 'upload', key: `u-${upload.clientMsgId}`, upload })
      }
    }
    return out
  }, [conversation, outgoing, uploads, chat.id, dividerId, unreadAtOpen])

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (index) => estimateRow(rows[index]),
    getItemKey: (index) => rows[index]?.key ?? index,
    overscan: 10,
    paddingStart: 8,
    paddingEnd: 12,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: AT_END_PX,
  })
  const items = virtualizer.getVirtualItems()
  const firstIndex = items[0]?.index
  const lastIndex = items.at(-1)?.index

  const rowsNow = useRef(rows)
  rowsNow.current = rows
  const indexOfMessage = (id: number) =>
    rowsNow.current.findIndex((row) => row.kind === 'message' && row.message.id === id)

  /**
   * Scrolls to a message (loading the page around it when it is not in the window) and highlights
   * it. The scroll is asked for first: when the page arrives, the rows render and the layout effect
   * below scrolls; when the message was already there, it happens here.
   */
  const jumpTo = useCallback(
    async (messageId: number) => {
      pendingScroll.current = { to: 'message', id: messageId }
      setHighlight(messageId)
      try {
        const found = await client.reveal(chat.id, messageId).finally(() => setJumped(true))
        if (!found) {
          pendingScroll.current = { to: 'end' }
          setHighlight(null)
          onNotice(strings.messageActions.messageGone)
          return
        }
      } catch {
        pendingScroll.current = null
        onNotice(strings.messageActions.failed)
        return
      }
      const index = rowsNow.current.findIndex((row) => row.kind === 'message' && row.message.id === messageId)
      if (index >= 0 && pendingScroll.current?.to === 'message') {
        pendingScroll.current = null
        virtualizer.scrollToIndex(index, { align: 'center' })
      }
    },
    [client, chat.id, onNotice, virtualizer],
  )

  // A deep link (at open, or a new one while the chat is open).
  useEffect(() => {
    if (focusMessageId !== undefined) void jumpTo(focusMessageId)
  }, [focusMessageId, jumpTo])

  // The first position: the deep-linked message, else the first unread, else the newest message.
  // Later, whatever a jump asked for once its rows are there.
  // My own new message brings the view to the bottom, wherever the reader was.
  const myLatest = [...outgoing, ...uploads]
    .filter((entry) => entry.chatId === chat.id)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .at(-1)?.clientMsgId
  const mySeen = useRef(myLatest)
  useLayoutEffect(() => {
    if (myLatest !== mySeen.current) {
      mySeen.current = myLatest
      if (myLatest !== undefined) pendingScroll.current = { to: 'end' }
    }
    if (rows.length === 0 || !conversation?.loaded) return
    if (!positioned.current) {
      if (focusMessageId !== undefined) {
        positioned.current = true
      } else if (dividerId !== undefined) {
        positioned.current = true
        pendingScroll.current = dividerId === null ? { to: 'end' } : { to: 'divider' }
      }
    }
    const pending = pendingScroll.current
    if (!pending) return
    const index =
      pending.to === 'end'
        ? rows.length - 1
        : pending.to === 'divider'
          ? rows.findIndex((row) => row.kind === 'unread')
          : indexOfMessage(pending.id)
    if (index < 0) return
    pendingScroll.current = null
    virtualizer.scrollToIndex(index, {
      align: pending.to === 'end' ? 'end' : pending.to === 'divider' ? 'start' : 'center',
    })
    const element = scroller.current
    if (element && element.scrollHeight <= element.clientHeight) setSettled(true)
  })

  // Pages load as either end of the window comes near.
  const loading = conversation?.loading ?? false
  useEffect(() => {
    if (!settled || loading || !conversation?.loaded) return
    if (firstIndex !== undefined && firstIndex < LOAD_MARGIN_ROWS && conversation.hasMoreBefore) {
      void client.loadHistory(chat.id, { direction: 'older' }).catch(() => {})
    } else if (
      lastIndex !== undefined &&
      lastIndex > rows.length - LOAD_MARGIN_ROWS &&
      conversation.hasMoreAfter
    ) {
      void client.loadHistory(chat.id, { direction: 'newer' }).catch(() => {})
    }
  }, [client, chat.id, firstIndex, lastIndex, rows.length, loading, conversation, settled])

  // Older rows put above the reader keep what they were reading in place. The virtualiser does it
  // (anchorTo: 'end') by the key of the row at the top edge; when that row is gone (a day separator
  // that now heads earlier messages), the next row seen at the top that is still there anchors.
  const topOfView = useRef<{ scrollTop: number; rows: Array<{ key: string; start: number }> } | null>(null)
  const recordTopOfView = () => {
    const element = scroller.current
    if (!element) return
    const scrollTop = element.scrollTop
    const seen = virtualizer
      .getVirtualItems()
      .filter((item) => item.end > scrollTop)
      .slice(0, 4)
      .map((item) => ({ key: String(item.key), start: item.start }))
    topOfView.current = { scrollTop, rows: seen }
  }
  const firstMessageId = conversation?.order[0]
  const previousFirst = useRef(firstMessageId)
  useLayoutEffect(() => {
    const previous = previousFirst.current
    previousFirst.current = firstMessageId
    const snapshot = topOfView.current
    if (previous === undefined || firstMessageId === previous || !snapshot || pendingScroll.current) return
    const indexByKey = new Map(rows.map((row, index) => [row.key, index]))
    const top = snapshot.rows[0]
    if (!top || indexByKey.has(top.key)) return
    for (const seen of snapshot.rows) {
      const index = indexByKey.get(seen.key)
      const item = index === undefined ? undefined : virtualizer.measurementsCache[index]
      if (!item) continue
      virtualizer.scrollToOffset(item.start - (seen.start - snapshot.scrollTop))
      return
    }
  }, [firstMessageId, rows, virtualizer])
  useLayoutEffect(recordTopOfView)

  const onScroll = () => {
    recordTopOfView()
    const element = scroller.current
    if (!element) return
    const end = element.scrollHeight - element.scrollTop - element.clientHeight < AT_END_PX
    if (end !== atEnd) setAtEnd(end)
    if (positioned.current && !settled) setSettled(true)
  }

  const handlers: MessageHandlers = useMemo(
    () => ({ onReply, onEdit, onForward, onNotice, onJump: (id: number) => void jumpTo(id) }),
    [onReply, onEdit, onForward, onNotice, jumpTo],
  )

  // "Jump to latest, N new": messages from others below the screen that arrived after the reader was
  // last at the bottom (or opened the chat; the unread divider covers what was there before).
  const newestSeq = chat.last_message?.seq ?? 0
  const seenSeq = useRef(newestSeq)
  if (atEnd && !conversation?.hasMoreAfter) seenSeq.current = newestSeq
  const lastOnScreen = virtualizer.range?.endIndex
  const seenUpTo = seenSeq.current
  const newBelow = useMemo(() => {
    if (lastOnScreen === undefined) return 0
    let count = 0
    for (let index = lastOnScreen + 1; index < rows.length; index++) {
      const row = rows[index]
      if (row?.kind === 'message' && row.message.sender_id !== meId && row.message.seq > seenUpTo) count += 1
    }
    return count
  }, [rows, lastOnScreen, meId, seenUpTo])
  const behind = conversation?.hasMoreAfter ?? false

  async function jumpToLatest() {
    setHighlight(null)
    try {
      if (behind) await client.jumpToLatest(chat.id)
      pendingScroll.current = { to: 'end' }
      virtualizer.scrollToIndex(rows.length - 1, { align: 'end' })
    } catch {
      onNotice(strings.messageActions.failed)
    }
    onJumpedToLatest()
  }

  const announce =
    lastIncoming && lastIncoming.chat_id === chat.id && lastIncoming.sender
      ? strings.conversation.newMessageFrom(lastIncoming.sender.name, summary(lastIncoming))
      : ''

  return (
    <div className="messages-pane">
      {loading && conversation?.loaded && (
        <p className="messages-loading muted small-text" role="status">
          {strings.conversation.loadingOlder}
        </p>
      )}
      <div className="messages" ref={scroller} onScroll={onScroll}>
        <ol
          className="message-list"
          aria-label={strings.conversation.messages}
          style={{ height: virtualizer.getTotalSize() }}
        >
          {items.map((item) => {
            const row = rows[item.index]
            if (!row) return null
            return (
              <li
                key={item.key}
                ref={virtualizer.measureElement}
                data-index={item.index}
                className={`row row-${row.kind}`}
                style={{ top: item.start }}
              >
                {row.kind === 'start' ? (
                  <p className="muted small-text">{strings.conversation.beginning}</p>
                ) : row.kind === 'day' ? (
                  <span className="day-label">{row.label}</span>
                ) : row.kind === 'unread' ? (
                  <span className="unread-label">{strings.messageActions.unreadDivider(row.count)}</span>
                ) : row.kind === 'message' ? (
                  <MessageBubble
                    chat={chat}
                    message={row.message}
                    highlighted={highlight === row.message.id}
                    handlers={handlers}
                  />
                ) : row.kind === 'upload' ? (
                  <UploadBubble upload={row.upload} chat={chat} />
                ) : (
                  <OutgoingBubble entry={row.entry} chat={chat} />
                )}
              </li>
            )
          })}
        </ol>
        <p className="visually-hidden" aria-live="polite">
          {announce}
        </p>
      </div>
      {(!atEnd || behind) && rows.length > 0 && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => void jumpToLatest()}
          aria-label={
            newBelow > 0
              ? strings.messageActions.jumpToLatestUnread(newBelow)
              : strings.messageActions.jumpToLatest
          }
        >
          <span aria-hidden="true">↓</span>
          {newBelow > 0 && (
            <span className="jump-count" aria-hidden="true">
              {newBelow}
            </span>
          )}
        </button>
      )}
    </div>
  )
}

/** A first guess of a row's height (measured once drawn); media rows are far taller than text rows. */
function estimateRow(row: Row | undefined): number {
  if (!row) return 40
  if (row.kind === 'upload') return 260
  if (row.kind !== 'message') return 40
  const visual = row.message.attachments.find((item) => item.kind === 'image' || item.kind === 'video')
  if (visual) return 240
  return row.message.attachments.length > 0 ? 96 : 64
}
