import { useEffect, useMemo } from 'react'
import { strings } from '../../strings.ts'
import { formatBytes } from './media-format.ts'

/** The files picked, pasted or dropped, before they are sent: a preview of each and a way to take it out. */
export function AttachTray({
  id,
  files,
  onRemove,
  onClear,
}: {
  id: string
  files: readonly File[]
  onRemove: (index: number) => void
  onClear: () => void
}) {
  const previews = useMemo(
    () => files.map((file) => (file.type.startsWith('image/') ? URL.createObjectURL(file) : null)),
    [files],
  )
  useEffect(
    () => () => {
      for (const preview of previews) if (preview) URL.revokeObjectURL(preview)
    },
    [previews],
  )
  return (
    <div className="attach-tray" id={id}>
      <div className="attach-tray-head">
        <span>{strings.media.tray}</span>
        <button type="button" className="small icon-button" onClick={onClear}>
          <span aria-hidden="true">✕</span>
          <span className="visually-hidden">{strings.media.clearTray}</span>
        </button>
      </div>
      <ul className="attach-tray-files">
        {files.map((file, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the same file may be picked twice; rows hold no state
          <li key={`${file.name}-${file.size}-${index}`}>
            {previews[index] ? (
              <img src={previews[index] ?? undefined} alt="" />
            ) : (
              <span className="attach-tray-icon" aria-hidden="true">
                📄
              </span>
            )}
            <span className="attach-tray-name">{file.name}</span>
            <span className="muted">{formatBytes(file.size)}</span>
            <button type="button" className="small icon-button" onClick={() => onRemove(index)}>
              <span aria-hidden="true">✕</span>
              <span className="visually-hidden">{strings.media.removeFile(file.name)}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  )
}
