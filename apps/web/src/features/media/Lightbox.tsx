import type { Attachment } from '@parley/protocol'
import { type KeyboardEvent, useEffect, useRef, useState } from 'react'
import { strings } from '../../strings.ts'
import { usePlaceholder } from './MediaView.tsx'

/**
 * The photo viewer (a lazy chunk): a modal <dialog>, so focus is trapped inside and given back to the
 * tile that opened it; Esc closes, ← and → go through an album.
 */
export default function Lightbox({
  images,
  start,
  onClose,
}: {
  images: readonly Attachment[]
  start: number
  onClose: () => void
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const [index, setIndex] = useState(start)
  const image = images[index] as Attachment
  const placeholder = usePlaceholder(image.placeholder)
  const count = images.length

  useEffect(() => {
    const element = dialog.current
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    if (element && !element.open) element.showModal()
    return () => {
      if (opener?.isConnected) opener.focus()
    }
  }, [])

  function go(step: number) {
    setIndex((current) => (current + step + count) % count)
  }

  function onKeyDown(event: KeyboardEvent<HTMLDialogElement>) {
    if (count < 2) return
    if (event.key === 'ArrowRight') {
      event.preventDefault()
      go(1)
    } else if (event.key === 'ArrowLeft') {
      event.preventDefault()
      go(-1)
    }
  }

  return (
    <dialog
      ref={dialog}
      className="lightbox"
      aria-label={strings.media.viewer}
      onClose={onClose}
      onKeyDown={onKeyDown}
    >
      <div className="lightbox-bar">
        {count > 1 && <span aria-live="polite">{strings.media.position(index + 1, count)}</span>}
        <button type="button" className="small" onClick={() => dialog.current?.close()}>
          {strings.media.close}
        </button>
      </div>
      <div className="lightbox-stage">
        {count > 1 && (
          <button
            type="button"
            className="lightbox-nav"
            onClick={() => go(-1)}
            aria-label={strings.media.previous}
          >
            <span aria-hidden="true">‹</span>
          </button>
        )}
        <img
          key={image.id}
          src={image.media_url ?? undefined}
          alt={strings.media.position(index + 1, count)}
          style={{
            aspectRatio: image.width && image.height ? `${image.width} / ${image.height}` : undefined,
            backgroundImage: placeholder ? `url("${placeholder}")` : undefined,
          }}
        />
        {count > 1 && (
          <button
            type="button"
            className="lightbox-nav"
            onClick={() => go(1)}
            aria-label={strings.media.next}
          >
            <span aria-hidden="true">›</span>
          </button>
        )}
      </div>
    </dialog>
  )
}
