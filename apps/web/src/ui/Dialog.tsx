import { type ReactNode, useEffect, useId, useRef } from 'react'
import { strings } from '../strings.ts'

/**
 * A modal built on the native <dialog>: the browser traps focus inside, Esc closes it, and focus goes
 * back to whatever opened it. `variant="sheet"` slides in from the side (full screen on a phone).
 */
export function Dialog(props: {
  title: string
  onClose: () => void
  children: ReactNode
  variant?: 'dialog' | 'sheet'
}) {
  const dialog = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  const { onClose } = props

  useEffect(() => {
    const element = dialog.current
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    if (element && !element.open) element.showModal()
    return () => {
      // Unmounted without the dialog's own close (e.g. navigation): still hand focus back.
      if (opener?.isConnected) opener.focus()
    }
  }, [])

  return (
    <dialog
      ref={dialog}
      className={props.variant === 'sheet' ? 'dialog sheet' : 'dialog'}
      aria-labelledby={titleId}
      onClose={onClose}
    >
      <header className="bar">
        <h2 id={titleId} className="bar-title">
          {props.title}
        </h2>
        <button type="button" className="small" onClick={() => dialog.current?.close()}>
          {strings.newChat.close}
        </button>
      </header>
      <div className="dialog-body">{props.children}</div>
    </dialog>
  )
}
