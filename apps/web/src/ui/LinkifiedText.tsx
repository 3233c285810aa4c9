import { Fragment } from 'react'

// http(s) URLs and bare www. hosts; trailing punctuation stays outside the link.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]}]/giu

export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string }

/** Splits text into plain runs and links. Only http: and https: links are made. */
export function segments(text: string): Segment[] {
  const out: Segment[] = []
  let last = 0
  for (const match of text.matchAll(LINK)) {
    const start = match.index
    const raw = match[0]
    const href = safeHref(raw)
    if (!href) continue
    if (start > last) out.push({ kind: 'text', text: text.slice(last, start) })
    out.push({ kind: 'link', text: raw, href })
    last = start + raw.length
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) })
  return out
}

function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw.startsWith('www.') ? `https://${raw}` : raw)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null
  } catch {
    return null
  }
}

/**
 * Message text as text nodes (React escapes them: `<img src=x onerror=…>` stays characters), with
 * links as anchors that open in a new tab without access to this one.
 */
export function LinkifiedText({ text }: { text: string }) {
  return (
    <>
      {segments(text).map((segment, index) =>
        segment.kind === 'link' ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments of one immutable text
          <a key={index} href={segment.href} target="_blank" rel="noopener noreferrer">
            {segment.text}
          </a>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: segments of one immutable text
          <Fragment key={index}>{segment.text}</Fragment>
        ),
      )}
    </>
  )
}
