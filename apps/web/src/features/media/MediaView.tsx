import type { Attachment, Message } from '@parley/protocol'
import { lazy, Suspense, useMemo, useState } from 'react'
import { thumbHashToDataURL } from 'thumbhash'
import { strings } from '../../strings.ts'
import { formatBytes, formatDuration } from './media-format.ts'
import './media.css'

const Lightbox = lazy(() => import('./Lightbox.tsx'))

/** The widest a photo or video is drawn in a bubble (CSS px); the height follows its proportions. */
const MAX_SIDE = 320

/** The media of a message: photo or album, video, audio, voice note, document card, GIF or sticker. */
export function MessageMedia({ message }: { message: Message }) {
  const attachments = message.attachments
  const [viewing, setViewing] = useState<number | null>(null)
  if (attachments.length === 0) return null
  const visual = attachments.filter((item) => item.kind === 'image' || item.kind === 'video')
  const type = message.message_type
  let body: React.ReactNode
  if ((type === 'image' || type === 'video') && visual.length > 1) {
    body = (
      <ul
        className={`media-album media-album-${Math.min(visual.length, 4)}`}
        aria-label={strings.media.album(visual.length)}
      >
        {visual.map((item, index) => (
          <li key={item.id}>
            {item.kind === 'image' ? (
              <ImageTile
                attachment={item}
                label={strings.media.open(index + 1, visual.length)}
                cover
                onOpen={() => setViewing(index)}
              />
            ) : (
              <VideoTile attachment={item} cover />
            )}
          </li>
        ))}
      </ul>
    )
  } else {
    const first = attachments[0] as Attachment
    body = <SingleMedia attachment={first} type={type} onOpen={() => setViewing(0)} />
  }
  const images = visual.filter((item) => item.kind === 'image')
  return (
    <>
      {body}
      {viewing !== null && images.length > 0 && (
        <Suspense fallback={null}>
          <Lightbox
            images={images}
            start={Math.max(0, images.indexOf(visual[viewing] as Attachment))}
            onClose={() => setViewing(null)}
          />
        </Suspense>
      )}
    </>
  )
}

function SingleMedia({
  attachment,
  type,
  onOpen,
}: {
  attachment: Attachment
  type: Message['message_type']
  onOpen: () => void
}) {
  if (!attachment.media_url) return <p className="muted">{strings.media.unavailable}</p>
  switch (attachment.kind) {
    case 'image':
      return <ImageTile attachment={attachment} label={strings.media.open(1, 1)} onOpen={onOpen} />
    case 'sticker':
      return (
        <img
          className="media-sticker"
          src={attachment.media_url}
          alt={strings.media.kinds.sticker}
          width={Math.min(attachment.width ?? 160, 160)}
          height={Math.min(attachment.height ?? 160, 160)}
        />
      )
    case 'gif':
      return attachment.mime_type.startsWith('video/') ? (
        <video
          className="media-visual"
          style={boxStyle(attachment)}
          src={attachment.media_url}
          autoPlay
          muted
          loop
          playsInline
          aria-label={strings.media.kinds.gif}
        />
      ) : (
        <img
          className="media-visual"
          style={boxStyle(attachment)}
          src={attachment.media_url}
          alt={strings.media.kinds.gif}
        />
      )
    case 'video':
      return <VideoTile attachment={attachment} />
    case 'voice':
      return <VoiceNote attachment={attachment} />
    case 'audio':
      return (
        // biome-ignore lint/a11y/useMediaCaption: people's own recordings come with no caption track
        <audio className="media-audio" controls preload="metadata" src={attachment.media_url}>
          <a href={attachment.media_url}>{strings.media.download(attachment.file_name ?? '')}</a>
        </audio>
      )
    default:
      return type === 'sticker' ? null : <DocumentCard attachment={attachment} />
  }
}

/** A box of the picture's proportions (so nothing jumps as it loads), at most MAX_SIDE a side. */
export function boxStyle(attachment: Pick<Attachment, 'width' | 'height'>, cover = false) {
  if (cover) return undefined
  const width = attachment.width ?? MAX_SIDE
  const height = attachment.height ?? MAX_SIDE
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height))
  // Both sides in pixels (not aspect-ratio): the row is measured for the virtual list before the
  // picture arrives, and must not change when it does.
  return {
    width: `${Math.max(80, Math.round(width * scale))}px`,
    height: `${Math.max(40, Math.round(height * scale))}px`,
    maxWidth: '100%',
  }
}

/** The ThumbHash as a tiny PNG data URL, painted behind the thumbnail while it loads. */
export function usePlaceholder(hash: string | null): string | undefined {
  return useMemo(() => {
    if (!hash) return undefined
    try {
      const bytes = Uint8Array.from(atob(hash), (char) => char.charCodeAt(0))
      return thumbHashToDataURL(bytes)
    } catch {
      return undefined
    }
  }, [hash])
}

function ImageTile({
  attachment,
  label,
  cover = false,
  onOpen,
}: {
  attachment: Attachment
  label: string
  cover?: boolean
  onOpen: () => void
}) {
  const placeholder = usePlaceholder(attachment.placeholder)
  const [loaded, setLoaded] = useState(false)
  const source = attachment.thumbnail_url ?? attachment.media_url ?? undefined
  return (
    <button
      type="button"
      className={cover ? 'media-tile cover' : 'media-tile'}
      style={{
        ...boxStyle(attachment, cover),
        backgroundImage: placeholder && !loaded ? `url("${placeholder}")` : undefined,
      }}
      aria-label={label}
      onClick={onOpen}
    >
      <img
        src={source}
        alt=""
        className={loaded ? 'loaded' : undefined}
        decoding="async"
        onLoad={() => setLoaded(true)}
      />
    </button>
  )
}

function VideoTile({ attachment, cover = false }: { attachment: Attachment; cover?: boolean }) {
  return (
    // biome-ignore lint/a11y/useMediaCaption: people's own videos have no caption track to offer
    <video
      className={cover ? 'media-visual cover' : 'media-visual'}
      style={boxStyle(attachment, cover)}
      src={attachment.media_url ?? undefined}
      controls
      preload="metadata"
      aria-label={`${strings.media.kinds.video}${attachment.duration_ms ? `, ${formatDuration(attachment.duration_ms)}` : ''}`}
    />
  )
}

/** 64 samples 0–255, base64 (docs/api/media.md); bars drawn from them, the player beside. */
function VoiceNote({ attachment }: { attachment: Attachment }) {
  const bars = useMemo(() => {
    if (!attachment.waveform) return []
    try {
      return Array.from(atob(attachment.waveform), (char) => char.charCodeAt(0))
    } catch {
      return []
    }
  }, [attachment.waveform])
  const duration = attachment.duration_ms ? formatDuration(attachment.duration_ms) : ''
  return (
    <div className="media-voice">
      {bars.length > 0 && (
        <div className="waveform" aria-hidden="true">
          {bars.map((value, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the samples are fixed and in order
            <span key={index} style={{ height: `${Math.max(8, Math.round((value / 255) * 100))}%` }} />
          ))}
        </div>
      )}
      {/* biome-ignore lint/a11y/useMediaCaption: a voice note comes with no caption track */}
      <audio
        className="media-audio"
        controls
        preload="metadata"
        src={attachment.media_url ?? undefined}
        aria-label={strings.media.voice(duration)}
      />
    </div>
  )
}

function DocumentCard({ attachment }: { attachment: Attachment }) {
  const name = attachment.file_name ?? strings.media.document
  return (
    <a className="media-document" href={attachment.media_url ?? undefined} download={name}>
      <span className="visually-hidden">{strings.media.downloadPrefix}</span>
      <span className="media-document-icon" aria-hidden="true">
        📄
      </span>
      <span className="media-document-text">
        <span className="media-document-name">{name}</span>
        <span className="muted">{formatBytes(attachment.size)}</span>
      </span>
    </a>
  )
}
