import fs from 'node:fs'
import { parseFile } from 'music-metadata'
import { MediaRejected } from './types.ts'

export interface AvInfo {
  durationMs: number | null
  width: number | null
  height: number | null
  hasVideo: boolean
}

const MP4_FAMILY = new Set(['video/mp4', 'video/quicktime', 'audio/mp4'])

/**
 * Duration (and, for video, dimensions) read from the container with music-metadata, a maintained
 * pure-JS parser: it reads headers and index boxes, never decodes. Bytes it cannot follow are corrupt.
 */
export async function readAvInfo(path: string, mime: string): Promise<AvInfo> {
  let metadata: Awaited<ReturnType<typeof parseFile>>
  try {
    metadata = await parseFile(path, { duration: true, skipCovers: true })
  } catch {
    throw new MediaRejected('corrupt', 'the audio or video could not be read')
  }
  const seconds = metadata.format.duration
  const durationMs = seconds !== undefined && Number.isFinite(seconds) ? Math.round(seconds * 1000) : null
  // music-metadata reports video tracks for Matroska/WebM; MP4's track header we read ourselves.
  const videoTrack = metadata.format.trackInfo.find((track) => track.video)?.video
  let width = videoTrack?.displayWidth ?? videoTrack?.pixelWidth ?? null
  let height = videoTrack?.displayHeight ?? videoTrack?.pixelHeight ?? null
  let duration = durationMs
  if (MP4_FAMILY.has(mime) && (width === null || duration === null)) {
    const movie = await readMp4Movie(path)
    if (width === null && movie.video) ({ width, height } = movie.video)
    // music-metadata times audio tracks only: a silent video's length is in the movie header.
    duration ??= movie.durationMs
  }
  const hasVideo = width !== null || metadata.format.hasVideo === true
  return { durationMs: duration, width, height, hasVideo }
}

interface Box {
  type: string
  start: number
  end: number
  /** Where the payload starts (after the size, type and any 64-bit size). */
  body: number
}

export interface Mp4Movie {
  durationMs: number | null
  video: { width: number; height: number } | null
}

/**
 * The movie header's duration and the display size of the first video track of an MP4/QuickTime file,
 * from its track header (tkhd), turned by the track's matrix (a phone's portrait video is stored
 * landscape with a 90° matrix).
 */
export async function readMp4Movie(path: string): Promise<Mp4Movie> {
  const handle = await fs.promises.open(path, 'r')
  try {
    const { size } = await handle.stat()
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buffer, 0, length, position)
      return buffer.subarray(0, bytesRead)
    }
    const children = async (start: number, end: number): Promise<Box[]> => {
      const boxes: Box[] = []
      let position = start
      // Bounded: a file cannot make us walk more boxes than it has bytes for, nor loop.
      while (position + 8 <= end && boxes.length < 10_000) {
        const header = await read(position, 16)
        if (header.length < 8) break
        let boxSize = header.readUInt32BE(0)
        let body = position + 8
        if (boxSize === 1 && header.length >= 16) {
          boxSize = Number(header.readBigUInt64BE(8))
          body = position + 16
        } else if (boxSize === 0) {
          boxSize = end - position
        }
        if (boxSize < 8) break
        boxes.push({
          type: header.toString('latin1', 4, 8),
          start: position,
          end: Math.min(position + boxSize, end),
          body,
        })
        position += boxSize
      }
      return boxes
    }
    const moov = (await children(0, size)).find((box) => box.type === 'moov')
    if (!moov) return { durationMs: null, video: null }
    const movieBoxes = await children(moov.body, moov.end)
    const mvhd = movieBoxes.find((box) => box.type === 'mvhd')
    let durationMs: number | null = null
    if (mvhd) {
      const header = await read(mvhd.body, 32)
      const v1 = header[0] === 1
      const timescale = header.length >= 32 ? header.readUInt32BE(v1 ? 20 : 12) : 0
      const units =
        header.length >= 32 ? (v1 ? Number(header.readBigUInt64BE(24)) : header.readUInt32BE(16)) : 0
      if (timescale > 0) durationMs = Math.round((units * 1000) / timescale)
    }
    const video = await firstVideoTrack(movieBoxes)
    return { durationMs, video }

    async function firstVideoTrack(boxes: Box[]): Promise<{ width: number; height: number } | null> {
      for (const trak of boxes.filter((box) => box.type === 'trak')) {
        const parts = await children(trak.body, trak.end)
        const mdia = parts.find((box) => box.type === 'mdia')
        const tkhd = parts.find((box) => box.type === 'tkhd')
        if (!mdia || !tkhd) continue
        const hdlr = (await children(mdia.body, mdia.end)).find((box) => box.type === 'hdlr')
        if (!hdlr || (await read(hdlr.body + 8, 4)).toString('latin1') !== 'vide') continue
        const payload = await read(tkhd.body, Math.min(tkhd.end - tkhd.body, 104))
        const version = payload[0]
        // version 0: 32-bit times (matrix at 40, size at 76); version 1: 64-bit times (+12 bytes).
        const matrixAt = version === 1 ? 52 : 40
        if (payload.length < matrixAt + 44) continue
        const a = payload.readInt32BE(matrixAt)
        const b = payload.readInt32BE(matrixAt + 4)
        const width = Math.round(payload.readUInt32BE(matrixAt + 36) / 65536)
        const height = Math.round(payload.readUInt32BE(matrixAt + 40) / 65536)
        if (width === 0 || height === 0) continue
        const quarterTurn = a === 0 && b !== 0
        return quarterTurn ? { width: height, height: width } : { width, height }
      }
      return null
    }
  } finally {
    await handle.close()
  }
}
